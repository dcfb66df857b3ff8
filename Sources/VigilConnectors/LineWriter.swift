#if canImport(Glibc)
import Glibc
#endif

/// Buffered line output to a file or stdout/stderr.
public final class LineWriter {
    private let fd: Int32
    private let ownsFD: Bool
    private var buffer: [UInt8] = []
    public let path: String

    /// Creates or truncates `path`; `-` is stdout.
    public init(path: String) throws(IOError) {
        self.path = path
        if path == "-" {
            fd = 1
            ownsFD = false
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw IOError(path: path, errno: errno) }
            ownsFD = true
        }
        buffer.reserveCapacity(1 << 16)
    }

    /// Writes to an already open descriptor (stderr).
    public init(fd: Int32, name: String) {
        self.fd = fd
        self.ownsFD = false
        self.path = name
    }

    deinit {
        flush()
        if ownsFD { close(fd) }
    }

    /// Appends `bytes` and a newline.
    public func writeLine(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { writeLine(bytes: $0) }
    }

    /// Appends `bytes` and a newline.
    public func writeLine(bytes: UnsafeBufferPointer<UInt8>) {
        buffer.append(contentsOf: bytes)
        buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func writeLine(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func flush() {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBufferPointer { b in write(fd, b.baseAddress! + offset, b.count - offset) }
            if n <= 0 { break }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
