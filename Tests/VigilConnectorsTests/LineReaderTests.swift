import Foundation
import Testing
import VigilConnectors

/// Lines split by the chunked reader equal the file split at `\n` (a `\r` before it
/// dropped), across chunk refills, with an oversized line reported and skipped.
@Suite struct LineReaderTests {
    func read(_ bytes: [UInt8]) throws -> [(text: [UInt8]?, number: Int64)] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lines-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var out: [(text: [UInt8]?, number: Int64)] = []
        try LineReader(path: path).forEachLine { line in
            switch line {
            case .text(let b, let n): out.append((Array(b), n))
            case .oversized(_, let n): out.append((nil, n))
            }
        }
        return out
    }

    @Test func splitsLikeTheFileAcrossRefills() throws {
        var rng = SystemRandomNumberGenerator()
        var expected: [[UInt8]] = []
        var file: [UInt8] = []
        // About 3 MiB: lines straddle the 1 MiB chunks many times.
        while file.count < 3 << 20 {
            let line = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 32...126, using: &rng) }
            expected.append(line)
            file += line + (Bool.random(using: &rng) ? [13, 10] : [10])
        }
        file += Array("last".utf8)   // no final newline
        expected.append(Array("last".utf8))
        let lines = try read(file)
        #expect(lines.count == expected.count)
        for (i, (got, want)) in zip(lines, expected).enumerated() {
            #expect(got.text == want && got.number == Int64(i + 1))
        }
    }

    @Test func anOversizedLineIsReportedAndSkipped() throws {
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: LineReader.maxLineBytes + 10)
        let lines = try read(Array("a\n".utf8) + big + [10] + Array("b\n".utf8))
        #expect(lines.map(\.number) == [1, 2, 3])
        #expect(lines[0].text == Array("a".utf8) && lines[1].text == nil && lines[2].text == Array("b".utf8))
    }
}
