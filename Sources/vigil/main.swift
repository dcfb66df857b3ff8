import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

// ArgumentParser exits 64 on usage errors; Vigil promises 2 (bad flags or paths),
// keeping 1 for "the rules have errors".
do {
    var command = try Vigil.parseAsRoot()
    try command.run()
} catch let code as ExitCode {
    exit(code.rawValue)
} catch {
    if Vigil.exitCode(for: error) == .success {
        Vigil.exit(withError: error)
    }
    FileHandleOutput.standardError.write(Vigil.fullMessage(for: error) + "\n")
    exit(2)
}
