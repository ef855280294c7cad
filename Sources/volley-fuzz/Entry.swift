import Foundation
import Net

/// volley-fuzz: the fuzz targets, chosen by VOLLEY_FUZZ_TARGET (frames, frames-deflate, http,
/// wire, scenario). Built with `-sanitize=fuzzer -DFUZZING` (scripts/fuzz.sh), libFuzzer
/// drives it; a normal build replays inputs: `volley-fuzz TARGET FILE|DIR…` (a corpus, a crash).
enum FuzzTarget: String, CaseIterable {
    case frames, framesDeflate = "frames-deflate", http, wire, scenario

    /// Runs one input.
    func run(_ input: UnsafeRawBufferPointer) {
        switch self {
        case .frames: Self.plainFrames.run(input)
        case .framesDeflate: Self.deflateFrames.run(input)
        case .http: ParserFuzzing.http(input)
        case .wire: ParserFuzzing.wire(input)
        case .scenario: ParserFuzzing.scenario(input)
        }
    }

    // One connection driver per process (each owns an event loop), made on first use.
    nonisolated(unsafe) static let plainFrames = FrameFuzzing(deflate: false)
    nonisolated(unsafe) static let deflateFrames = FrameFuzzing(deflate: true)

    static let chosen: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["VOLLEY_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            fatalError("set VOLLEY_FUZZ_TARGET to one of: \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return target
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.chosen.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if FUZZING
/// libFuzzer's driver, entered from the executable's main (SwiftPM names it volley_fuzz_main).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("volley_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
#else
@main
struct Replay {
    static func main() {
        ProcessSetup.ignoreBrokenPipes()
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "seeds", arguments.count >= 2 {
            // volley-fuzz seeds DIR [SCENARIO...]: writes DIR/<target>/ starting corpora.
            do {
                try Seeds.write(to: arguments[arguments.startIndex + 1], scenarios: Array(arguments.dropFirst(2)))
            } catch {
                FileHandle.standardError.write(Data("volley-fuzz: cannot write the seeds: \(error)\n".utf8))
                exit(1)
            }
            return
        }
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
            FileHandle.standardError.write(Data("usage: volley-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE|DIR...\n       volley-fuzz seeds DIR [SCENARIO...]\n".utf8))
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
                : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                data.withUnsafeBytes { target.run($0) }
                count += 1
            }
        }
        print("volley-fuzz \(name): \(count) inputs replayed, no failure")
    }
}
#endif
