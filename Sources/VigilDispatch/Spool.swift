#if canImport(Glibc)
import Glibc
#endif
import Foundation
import VigilConnectors

/// A channel's on-disk queue: alerts appended as JSON lines to `DIR/NAME.spool`, and
/// the byte offset delivered so far in `DIR/NAME.acked` (replaced atomically). A spool
/// survives `kill -9`: on open, a line cut short by the crash is dropped (its alert was
/// never accepted) and delivery resumes at the acked offset, so every alert is delivered
/// at least once, in order.
final class Spool: @unchecked Sendable {
    let path: String
    let ackPath: String
    private let fd: Int32
    private let lock = NSCondition()
    /// Bytes written (all complete lines).
    private var size: Int64
    private(set) var acked: Int64
    private var closed = false

    init(dir: String, name: String) throws(IOError) {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw IOError(path: dir, errno: EACCES)
        }
        path = (dir as NSString).appendingPathComponent("\(name).spool")
        ackPath = (dir as NSString).appendingPathComponent("\(name).acked")
        fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw IOError(path: path, errno: errno) }
        var st = stat()
        size = fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
        // A torn last line (the writer died mid-line) is cut off.
        var cut = size
        var byte: UInt8 = 0
        while cut > 0, pread(fd, &byte, 1, off_t(cut - 1)) == 1, byte != 10 { cut -= 1 }
        if cut != size { _ = ftruncate(fd, off_t(cut)); size = cut }
        acked = (try? String(contentsOfFile: ackPath, encoding: .utf8)).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        if acked > size { acked = size }
    }

    deinit { Glibc.close(fd) }

    /// Appends one alert line (durable once `sync()` returns).
    func append(_ line: [UInt8]) {
        var bytes = line
        bytes.append(10)
        lock.lock()
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBufferPointer { pwrite(fd, $0.baseAddress! + offset, $0.count - offset, off_t(size + Int64(offset))) }
            if n <= 0 { break }
            offset += n
        }
        size += Int64(offset)
        lock.signal()
        lock.unlock()
    }

    func sync() { _ = fsync(fd) }

    /// Lines written and not yet acknowledged.
    var pendingBytes: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return size - acked
    }

    /// The line starting at `offset` and the offset after it; waits up to `timeout`
    /// seconds for one to be appended. nil when none came (or the spool is closed).
    func line(at offset: Int64, timeout: Double) -> (line: [UInt8], next: Int64)? {
        lock.lock()
        if offset >= size && !closed { _ = lock.wait(until: Date().addingTimeInterval(timeout)) }
        let end = size
        lock.unlock()
        guard offset < end else { return nil }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var at = offset
        while at < end {
            let want = Int(min(Int64(chunk.count), end - at))
            let n = chunk.withUnsafeMutableBufferPointer { pread(fd, $0.baseAddress!, want, off_t(at)) }
            if n <= 0 { return nil }
            if let nl = chunk[0..<n].firstIndex(of: 10) {
                out.append(contentsOf: chunk[0..<nl])
                return (out, at + Int64(nl) + 1)
            }
            out.append(contentsOf: chunk[0..<n])
            at += Int64(n)
        }
        return nil
    }

    /// Records that everything before `offset` is delivered; when everything is, the
    /// spool starts over empty. Returns where the next line starts.
    @discardableResult
    func ack(_ offset: Int64) -> Int64 {
        lock.lock()
        acked = offset
        var record = offset
        if acked == size {
            _ = ftruncate(fd, 0)
            size = 0
            acked = 0
            record = 0
        }
        lock.unlock()
        let tmp = ackPath + ".tmp"
        try? "\(record)\n".write(toFile: tmp, atomically: false, encoding: .utf8)
        _ = Glibc.rename(tmp, ackPath)
        return record
    }

    /// Wakes a waiting reader for good.
    func close() {
        lock.lock()
        closed = true
        lock.broadcast()
        lock.unlock()
    }
}
