extension Array {
    /// Removes every element and keeps the storage: what `removeAll(keepingCapacity:
    /// true)` does, without its call when there is nothing to remove (it goes through
    /// `replaceSubrange` even then, and per-event scratch arrays are mostly empty).
    @inlinable public mutating func clearKeepingCapacity() {
        if !isEmpty { removeAll(keepingCapacity: true) }
    }
}
