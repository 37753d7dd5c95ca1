import CLinux
import Glibc

/// Starts a detached POSIX thread with a stack of a chosen size.
///
/// Not Foundation's `Thread`: its first start in a process sets up `Thread.current`, whose
/// generic metadata the runtime instantiates by demangling and checking conformances against the
/// whole binary (~0.1 ms, paid by the first plugin step of every run). glibc keeps the stack and
/// reuses it for the next thread once this one returns.
package enum DetachedThread {
    /// Starts `body` on a new thread named `name` (the kernel keeps 15 bytes); false when the
    /// thread could not start.
    @discardableResult
    package static func start(name: String, stackBytes: Int, _ body: @escaping @Sendable () -> Void) -> Bool {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, max(stackBytes, Int(PTHREAD_STACK_MIN)))
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        return ThreadEntry.create(attributes: &attributes, name: name, body)
    }
}

/// The start routine shared by `DetachedThread` and `LockedStackThread`: the body travels to the
/// new thread as a retained box.
enum ThreadEntry {
    static func create(
        attributes: inout pthread_attr_t, name: String?, _ body: @escaping @Sendable () -> Void
    ) -> Bool {
        let box = Unmanaged.passRetained(Body(name: name, body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, &attributes,
            { context in
                let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
                if let name = body.name { _ = snaporch_name_thread(name) }
                body.run()
                return nil
            }, box)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            return false
        }
        return true
    }

    private final class Body: Sendable {
        /// The thread's name (the kernel keeps 15 bytes).
        let name: String?
        let run: @Sendable () -> Void
        init(name: String?, _ run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }
}
