/* The bare-SQL loop of the PostgreSQL queue: the queue's own two lease statements
 * (PostgresBackend/Queue/PostgresLeaseStatements.swift, handed over as files by queue-bench so the text is
 * the same), run through the bare C client library, libpq, with the worker runtime and PostgresNIO
 * taken away. Per transaction, as `PostgresFairClaim.claim` does: BEGIN; settle the batch claimed last
 * time and read a page of the head; claim the eligible rows; read further pages while the batch is not
 * full; COMMIT. Each client is a forked process with its own connection; they stop when a lease finds
 * no head left. Prints the wall-clock seconds from before the first fork to the last exit.
 *
 * Build: cc -O2 -I/usr/include/postgresql pg-same-statements.c -lpq   (Debian's libpq-dev)
 * Usage: pg-same-statements CONNINFO CLIENTS BATCH CAP KEY_LOCK_CLASS LEASE_MS SETTLE_SQL_FILE CLAIM_SQL_FILE
 */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The OIDs PostgresNIO binds the statements' values with: int8, int8[], int4, text, text[]. */
enum { INT8 = 20, INT8_ARRAY = 1016, INT4 = 23, TEXT = 25, TEXT_ARRAY = 1009 };

typedef struct {
    char *data;
    size_t length, capacity;
} Text;

static void append(Text *text, const char *part) {
    size_t n = strlen(part);
    if (text->length + n + 1 > text->capacity) {
        text->capacity = (text->length + n + 1) * 2;
        text->data = realloc(text->data, text->capacity);
        if (!text->data) abort();
    }
    memcpy(text->data + text->length, part, n + 1);
    text->length += n;
}

/* An array literal of quoted elements ("{\"a\",\"b\"}"); the bench's keys hold no quote or backslash. */
static void array_of(Text *text, char **items, int count, int quoted) {
    text->length = 0;
    append(text, "{");
    for (int i = 0; i < count; i++) {
        if (i) append(text, ",");
        if (quoted) append(text, "\"");
        append(text, items[i]);
        if (quoted) append(text, "\"");
    }
    append(text, "}");
}

static char *read_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) { perror(path); exit(2); }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *data = malloc(size + 1);
    if (fread(data, 1, size, file) != (size_t)size) { perror(path); exit(2); }
    data[size] = 0;
    fclose(file);
    return data;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static PGresult *expect(PGconn *conn, PGresult *result, ExecStatusType status, const char *what) {
    if (PQresultStatus(result) != status) {
        fprintf(stderr, "%s: %s", what, PQerrorMessage(conn));
        exit(1);
    }
    return result;
}

static void command(PGconn *conn, const char *sql) { PQclear(expect(conn, PQexec(conn, sql), PGRES_COMMAND_OK, sql)); }

static int client(const char *conninfo, int index, int batch, const char *cap, const char *lock_class,
                  int64_t lease_ms, const char *settle_sql, const char *claim_sql) {
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) { fprintf(stderr, "connect: %s", PQerrorMessage(conn)); return 1; }
    /* The last four are the runs the successes end (their ids, counts, links and snapshots): none here,
       and their types come from the statement's own casts. */
    Oid settle_types[] = {INT8, INT8_ARRAY, INT8_ARRAY, INT8, INT8, INT8, INT8, INT8, INT4, 0, 0, 0, 0};
    /* A claim statement with exclusive keys takes them as $8: the bench's jobs have none ('' each). */
    Oid claim_types[] = {INT8_ARRAY, TEXT_ARRAY, INT8, INT8, INT8, TEXT, INT8, TEXT_ARRAY};
    int claim_params = strstr(claim_sql, "$8") ? 8 : 7;
    PQclear(expect(conn, PQprepare(conn, "settle", settle_sql, 13, settle_types), PGRES_COMMAND_OK, "prepare"));
    PQclear(expect(conn, PQprepare(conn, "claim", claim_sql, claim_params, claim_types), PGRES_COMMAND_OK, "prepare"));

    char worker[32], page_text[16], limit_text[16], now_text[24], lease_text[24];
    char after_priority[24], after_vtime[24], after_id[24];
    snprintf(worker, sizeof worker, "bare-%d", index);
    int page = batch + 16;
    snprintf(page_text, sizeof page_text, "%d", page);
    char **held_ids = calloc(batch, sizeof(char *)), **held_tokens = calloc(batch, sizeof(char *));
    char **candidate_ids = calloc(page, sizeof(char *)), **candidate_keys = calloc(page, sizeof(char *));
    char **empty_keys = calloc(page, sizeof(char *));
    for (int i = 0; i < page; i++) empty_keys[i] = "";
    int held = 0;
    Text ids = {0}, tokens = {0};
    for (;;) {
        command(conn, "BEGIN");
        snprintf(now_text, sizeof now_text, "%lld", (long long)now_ms());
        snprintf(lease_text, sizeof lease_text, "%lld", (long long)(now_ms() + lease_ms));
        snprintf(after_priority, sizeof after_priority, "%d", INT32_MAX);
        snprintf(after_vtime, sizeof after_vtime, "%lld", (long long)INT64_MIN);
        snprintf(after_id, sizeof after_id, "%lld", (long long)INT64_MIN);
        array_of(&ids, held_ids, held, 0);
        array_of(&tokens, held_tokens, held, 0);
        for (int i = 0; i < held; i++) { free(held_ids[i]); free(held_tokens[i]); }
        held = 0;
        int head_rows = 0;
        for (;;) {
            const char *settle_values[] = {now_text, ids.data,  tokens.data, now_text, after_priority,
                                           after_vtime, after_id, page_text, lock_class, "{}", "{}", "{}", "{}"};
            PGresult *read = expect(conn, PQexecPrepared(conn, "settle", 13, settle_values, NULL, NULL, 0),
                                    PGRES_TUPLES_OK, "settle and read the head");
            array_of(&ids, NULL, 0, 0); /* the successes are settled once */
            array_of(&tokens, NULL, 0, 0);
            int head = 0, candidates = 0;
            for (int row = 0; row < PQntuples(read); row++) {
                if (PQgetvalue(read, row, 0)[0] != 'h') continue;
                head++;
                snprintf(after_priority, sizeof after_priority, "%s", PQgetvalue(read, row, 2));
                snprintf(after_vtime, sizeof after_vtime, "%s", PQgetvalue(read, row, 3));
                snprintf(after_id, sizeof after_id, "%s", PQgetvalue(read, row, 1));
                if (PQgetvalue(read, row, 5)[0] != 't') continue;
                candidate_ids[candidates] = strdup(PQgetvalue(read, row, 1));
                candidate_keys[candidates++] = strdup(PQgetvalue(read, row, 4));
            }
            PQclear(read);
            head_rows += head;
            if (candidates > 0) {
                Text candidate_id_array = {0}, candidate_key_array = {0}, no_exclusive_keys = {0};
                array_of(&candidate_id_array, candidate_ids, candidates, 0);
                array_of(&candidate_key_array, candidate_keys, candidates, 1);
                array_of(&no_exclusive_keys, empty_keys, candidates, 1);
                snprintf(limit_text, sizeof limit_text, "%d", batch - held);
                const char *claim_values[] = {candidate_id_array.data, candidate_key_array.data, cap, limit_text,
                                              lease_text, worker, now_text, no_exclusive_keys.data};
                PGresult *claimed = expect(
                    conn, PQexecPrepared(conn, "claim", claim_params, claim_values, NULL, NULL, 0),
                                           PGRES_TUPLES_OK, "claim");
                for (int row = 0; row < PQntuples(claimed) && held < batch; row++) {
                    held_ids[held] = strdup(PQgetvalue(claimed, row, 0));
                    held_tokens[held++] = strdup(PQgetvalue(claimed, row, 6));
                }
                PQclear(claimed);
                free(candidate_id_array.data);
                free(candidate_key_array.data);
                free(no_exclusive_keys.data);
                for (int i = 0; i < candidates; i++) { free(candidate_ids[i]); free(candidate_keys[i]); }
            }
            if (held >= batch || head != page) break;
        }
        command(conn, "COMMIT");
        if (head_rows == 0 && held == 0) break;
    }
    PQfinish(conn);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 9) {
        fprintf(stderr, "usage: %s CONNINFO CLIENTS BATCH CAP KEY_LOCK_CLASS LEASE_MS SETTLE_SQL_FILE CLAIM_SQL_FILE\n",
                argv[0]);
        return 2;
    }
    int clients = atoi(argv[2]), batch = atoi(argv[3]);
    int64_t lease_ms = atoll(argv[6]);
    char *settle_sql = read_file(argv[7]), *claim_sql = read_file(argv[8]);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < clients; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) _exit(client(argv[1], i, batch, argv[4], argv[5], lease_ms, settle_sql, claim_sql));
    }
    int failed = 0, status;
    while (wait(&status) > 0) failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("%.6f\n", (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
    return failed;
}
