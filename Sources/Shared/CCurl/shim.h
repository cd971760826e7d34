// libcurl for the outbound transport (Sources/Shared/Transport/CurlTransport.swift). Swift cannot call C
// variadic functions, so each `curl_easy_setopt` / `curl_easy_getinfo` / `curl_multi_setopt` shape the
// transport uses has a typed wrapper here. Headers: Debian's libcurl4-openssl-dev (`make deps`).
#ifndef ONENOTE_REPORTS_CCURL_H
#define ONENOTE_REPORTS_CCURL_H

#include <curl/curl.h>

typedef size_t (*ccurl_data_callback)(char *buffer, size_t size, size_t count, void *context);

/// Once per process, before the first handle (thread-safe in libcurl 7.84 and later).
static inline CURLcode ccurl_global_init(void) { return curl_global_init(CURL_GLOBAL_ALL); }

static inline CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_callback(CURL *handle, CURLoption option, ccurl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

/// The result of a finished transfer (a union member in `CURLMsg`).
static inline CURLcode ccurl_message_result(const CURLMsg *message) { return message->data.result; }

#endif
