#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM stop `vigil run` cleanly: reading stops, outputs are flushed, and
/// undelivered alerts stay in the spool for the next start.
enum Signals {
    /// The signal received (0: none).
    nonisolated(unsafe) static var received: Int32 = 0

    struct Stop: Error {}

    static func install() {
        signal(SIGINT) { Signals.received = $0 }
        signal(SIGTERM) { Signals.received = $0 }
        // A parent may have started us with these blocked (they are inherited).
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
