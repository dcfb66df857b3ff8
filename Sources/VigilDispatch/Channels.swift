#if canImport(Glibc)
import Glibc
#endif
import Foundation
import VigilConnectors
import VigilRuntime

/// Where alerts go. Channels take alerts in order and never drop one: a channel that
/// cannot deliver now keeps it (webhooks spool to disk).
public protocol AlertChannel: AnyObject {
    var name: String { get }
    func send(_ a: DispatchAlert)
    /// `send(DispatchAlert(alert, streams:, matched:))`, for an alert lent: a channel
    /// that only writes the alert's line writes it from the loan.
    func send(lent alert: borrowing Alert, streams: [StreamSchema], matched: DispatchAlert.Matched)
    func flush()
    /// How much is taken but not yet delivered: 0 when nothing (a webhook reports its
    /// spooled bytes; files and stdout deliver as they write).
    var pending: Int { get }
    /// Stops the channel; what is undelivered stays spooled for the next start.
    func close()
}

extension AlertChannel {
    public func send(lent alert: borrowing Alert, streams: [StreamSchema], matched: DispatchAlert.Matched) {
        send(DispatchAlert(copy alert, streams: streams, matched: matched))
    }
}

/// Standard output: one line per alert for people on a terminal (with the processing
/// time), JSON Lines otherwise.
public final class StdoutChannel: AlertChannel {
    public let name: String
    let out = LineWriter(fd: 1, name: "<stdout>")
    let human: Bool

    public init(name: String = "stdout", human: Bool = isatty(1) == 1) {
        self.name = name
        self.human = human
    }

    private var writer = JSONWriter()

    public func send(_ a: DispatchAlert) {
        if human {
            out.writeLine(Self.humanLine(a, processedAt: Date()))
            out.flush()
            return
        }
        send(lent: a.alert, streams: a.streams, matched: a.matched)
    }

    public func send(lent alert: borrowing Alert, streams: [StreamSchema], matched: DispatchAlert.Matched) {
        if human { return send(DispatchAlert(copy alert, streams: streams, matched: matched)) }
        writer.removeAll()
        DispatchAlert.write(alert, streams: streams, matched: matched, to: &writer)
        writer.withBytes { out.writeLine(bytes: $0) }
    }

    /// `[high] 2023-11-14T22:15:52.000Z brute_force user=mallory: 5 failed logins ... (seen 08:10:01)`
    public static func humanLine(_ a: DispatchAlert, processedAt: Date) -> String {
        let seen = ISO8601DateFormatter.string(from: processedAt, timeZone: .current, formatOptions: [.withTime, .withColonSeparatorInTime])
        return "[\(a.severity)] \(RFC3339.format(a.detectedAt)) \(a.rule) \(a.keyText): \(a.message) (seen \(seen))"
    }

    public func flush() { out.flush() }
    public var pending: Int { 0 }
    public func close() { out.flush() }
}

/// A JSON Lines file, optionally rotated by size: past `rotateBytes` the file becomes
/// `FILE.1` (older ones `FILE.2`, ... up to `keep`) and a new `FILE` starts.
public final class FileChannel: AlertChannel {
    public let name: String
    let path: String
    let rotateBytes: Int64?
    let keep: Int
    private var fd: Int32
    private var size: Int64
    /// Pending bytes: alerts are written straight into it.
    private var buffer = JSONWriter(capacity: 1 << 16)

    /// `append`: keep what the file holds (configured channels); otherwise start it
    /// empty (`--alerts FILE`, so a replay writes the same bytes).
    public init(name: String, path: String, rotateBytes: Int64? = nil, keep: Int = 5, append: Bool) throws(IOError) {
        self.name = name
        self.path = path
        self.rotateBytes = rotateBytes
        self.keep = keep
        fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
        guard fd >= 0 else { throw IOError(path: path, errno: errno) }
        var st = stat()
        size = fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
    }

    deinit { close() }

    public func send(_ a: DispatchAlert) {
        send(lent: a.alert, streams: a.streams, matched: a.matched)
    }

    public func send(lent alert: borrowing Alert, streams: [StreamSchema], matched: DispatchAlert.Matched) {
        let before = buffer.count
        DispatchAlert.write(alert, streams: streams, matched: matched, to: &buffer)
        buffer.byte(10)
        // Rotation: the line that would cross the limit starts the next file.
        if let limit = rotateBytes, size + Int64(buffer.count) > limit, size + Int64(before) > 0 {
            let line = buffer.withBytes { Array($0[before...]) }
            buffer.truncate(to: before)
            flush()
            rotate()
            buffer.append(line)
        }
        if buffer.count >= 1 << 16 { flush() }
    }

    private func rotate() {
        Glibc.close(fd)
        let fm = FileManager.default
        try? fm.removeItem(atPath: "\(path).\(keep)")
        for i in stride(from: keep - 1, through: 1, by: -1) where fm.fileExists(atPath: "\(path).\(i)") {
            _ = Glibc.rename("\(path).\(i)", "\(path).\(i + 1)")
        }
        _ = Glibc.rename(path, "\(path).1")
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        size = 0
    }

    public func flush() {
        guard fd >= 0 else { return }
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withBytes { b in write(fd, b.baseAddress! + offset, b.count - offset) }
            if n <= 0 { break }
            offset += n
        }
        size += Int64(offset)
        buffer.removeAll()
    }

    public var pending: Int { 0 }

    public func close() {
        flush()
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
