/// A buffer a `SpareBuffers` pool can keep: it has room, can be emptied, and says
/// whether its holder may write into it.
protocol SpareBuffer {
    /// Elements it has room for.
    var room: Int { get }
    /// Drops its elements, keeping its room.
    mutating func empty()
    /// Whether `buffer` may be written in place by its holder: nothing else refers to it.
    static func isOwned(_ buffer: inout Self) -> Bool
}

/// Empty buffers kept for reuse, by size class (the floor of the log2 of their room),
/// so that whoever needs room takes a buffer that has it: departed keys' partial-match
/// buffers, and spilled bound lists of partial matches that ended.
struct SpareBuffers<Buffer: SpareBuffer> {
    private var byClass: [[Buffer]] = []
    private var count = 0
    /// Keys depart in bulk when their windows pass; the pool holds what they held, up to
    /// this many (the bound only matters after a mass departure).
    private static var limit: Int { 1 << 16 }

    init() {}

    /// Keeps `buffer` (emptied, with room).
    mutating func put(_ buffer: consuming Buffer) {
        guard buffer.room > 0, count < Self.limit, Buffer.isOwned(&buffer) else { return }
        buffer.empty()
        if byClass.isEmpty { byClass = Array(repeating: [], count: Int.bitWidth) }
        byClass[Int.bitWidth - 1 - buffer.room.leadingZeroBitCount].append(buffer)
        count += 1
    }

    /// An empty buffer with room for `n` (the smallest class that surely has it) that
    /// nothing else refers to (a copy of the pool, in a copied detector, shares them).
    mutating func take(atLeast n: Int) -> Buffer? {
        guard count > 0, n > 0 else { return nil }
        // Class c holds rooms in [2^c, 2^(c+1)): the first class surely large enough.
        var c = Int.bitWidth - (n - 1).leadingZeroBitCount
        if n == 1 { c = 0 }
        while c < byClass.count {
            if var b = byClass[c].popLast() {
                count -= 1
                if Buffer.isOwned(&b) { return b }
                continue
            }
            c += 1
        }
        return nil
    }
}

extension SpareBuffers: Sendable where Buffer: Sendable {}

extension Array: SpareBuffer {
    var room: Int { capacity }
    mutating func empty() { removeAll(keepingCapacity: true) }
    // Copy-on-write: a shared array is copied by its first write.
    static func isOwned(_ buffer: inout Self) -> Bool { true }
}
