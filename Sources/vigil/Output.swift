#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered writes to stdout or stderr.
struct FileHandleOutput {
    let fd: Int32

    static let standardOutput = FileHandleOutput(fd: 1)
    static let standardError = FileHandleOutput(fd: 2)

    var isTerminal: Bool { isatty(fd) == 1 }

    func write(_ text: String) {
        var text = text
        text.withUTF8 { buf in
            var offset = 0
            while offset < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }

    /// Whether to color output: `--color`, then NO_COLOR, then whether it is a terminal.
    func useColor(_ choice: ColorChoice) -> Bool {
        switch choice {
        case .always: return true
        case .never: return false
        case .auto:
            if let v = getenv("NO_COLOR"), v.pointee != 0 { return false }
            return isTerminal
        }
    }
}
