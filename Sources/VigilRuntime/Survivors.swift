/// One key's partial matches while an event moves them, in the key's own buffer: each
/// is taken out in turn (a placeholder is left), and each survivor is written back into
/// the first place a taken one left, so that the buffer ends up holding the survivors in
/// order, with no second buffer to copy them from.
///
/// Built in a scratch buffer, the survivors were copied back and both buffers emptied:
/// three calls, and a retain and a release per survivor, on every event a key matched.
///
/// A survivor finds no free place only after an attempt branched (it left one place
/// and made two survivors): from then on survivors wait in `overflow`, in order, and
/// `finish` puts them in the places left. New attempts past the last place taken are
/// appended; a new key's first one goes into a departed key's buffer (`spares`).
struct Survivors {
    /// Survivors in `0..<written`; free places (placeholders) in `written..<taken`;
    /// attempts not yet taken from `taken` on.
    private(set) var list: [PartialMatch]
    private(set) var taken = 0
    private(set) var written = 0
    /// Survivors with no free place yet, in order (empty on entry and on `finish`).
    private var overflow: [PartialMatch]

    init(list: consuming [PartialMatch], overflow: consuming [PartialMatch]) {
        self.list = list
        self.overflow = overflow
    }

    /// Attempts not taken yet.
    var remaining: Int { list.count - taken }

    /// Takes out the next attempt.
    mutating func take() -> PartialMatch {
        var a = PartialMatch.placeholder
        swap(&a, &list[taken])
        taken += 1
        return a
    }

    /// Keeps `a`, after every survivor kept before it. A buffer outgrown is swapped for
    /// one of `spares` with room, and goes there.
    mutating func append(_ a: consuming PartialMatch, spares: inout SpareBuffers<[PartialMatch]>) {
        guard overflow.isEmpty else {
            overflow.append(a)
            return
        }
        if written < taken {
            var x = a
            swap(&x, &list[written])
            written += 1
        } else if taken == list.count {
            if list.count == list.capacity, var bigger = spares.take(atLeast: 2 * list.count + 1) {
                // Moved over, not copied: each element swapped for a placeholder.
                for i in list.indices {
                    var x = PartialMatch.placeholder
                    swap(&x, &list[i])
                    bigger.append(x)
                }
                swap(&bigger, &list)
                spares.put(consume bigger)
            }
            list.append(a)
            written += 1
            taken += 1
        } else {
            overflow.append(a)
        }
    }

    /// The survivors, in order, and the overflow buffer (empty) back.
    mutating func finish() -> (list: [PartialMatch], overflow: [PartialMatch]) {
        precondition(taken == list.count, "Survivors finished before every attempt was taken")
        var j = 0
        while j < overflow.count && written < taken {
            swap(&list[written], &overflow[j])
            written += 1
            j += 1
        }
        if written < taken {
            list.removeSubrange(written..<taken)
        } else if j < overflow.count {
            list.append(contentsOf: overflow[j...])
        }
        overflow.clearKeepingCapacity()
        var l: [PartialMatch] = [], o: [PartialMatch] = []
        swap(&l, &list)
        swap(&o, &overflow)
        return (l, o)
    }
}
