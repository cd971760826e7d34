import Foundation

#if FUZZING
    import CFuzzDriver
#endif

/// The fuzz targets' executable. Built by `make fuzz` (Fuzz/run.sh) with `-sanitize=fuzzer,address
/// -DFUZZING`, `main` hands the command line to libFuzzer's driver and the target comes from
/// `REPORTS_FUZZ_TARGET` (fit, state, cron, body, render). A plain build replays inputs through a
/// target instead, so the committed corpora and every crash found stay regression tests:
/// `reports-fuzz <target> <file or folder>…` (Fuzz/replay.sh, run by `make test`).
@main
struct ReportsFuzz {
    static func main() throws {
        #if FUZZING
            let name = ProcessInfo.processInfo.environment["REPORTS_FUZZ_TARGET"] ?? ""
            guard FuzzTargets.all[name] != nil else {
                fatalError("set REPORTS_FUZZ_TARGET to one of \(FuzzTargets.all.keys.sorted().joined(separator: ", "))")
            }
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(
                LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                    let target = FuzzTargets.all[ProcessInfo.processInfo.environment["REPORTS_FUZZ_TARGET"] ?? ""]!
                    target(data.map { Data(bytes: $0, count: size) } ?? Data())
                    return 0
                })
        #else
            try replay()
        #endif
    }

    static func replay() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTargets.all[name] else {
            FileHandle.standardError.write(
                Data(
                    "usage: reports-fuzz <\(FuzzTargets.all.keys.sorted().joined(separator: "|"))> <file or folder>…\n"
                        .utf8))
            exit(64)
        }
        var count = 0
        for path in arguments.dropFirst() {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
            let files =
                isFolder.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { path + "/" + $0 } : [path]
            for file in files {
                target(try Data(contentsOf: URL(fileURLWithPath: file)))
                count += 1
            }
        }
        if name == "body" { FuzzStore.shared.remove() }
        print("\(name): \(count) inputs replayed, every invariant held")
    }
}
