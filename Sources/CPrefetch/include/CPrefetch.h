#ifndef VIGIL_CPREFETCH_H
#define VIGIL_CPREFETCH_H

/// Asks the CPU to bring the cache line at `p` closer, without waiting for it.
/// Swift has no prefetch; the matcher uses this to start the memory loads of events
/// and key buckets it will reach a few events later.
static inline void vigil_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

#endif
