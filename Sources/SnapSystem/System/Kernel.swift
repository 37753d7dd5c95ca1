import Glibc

/// Facts about the running kernel.
package enum Kernel {
    /// The kernel release, e.g. `6.1.0-18-amd64` (`uname(2)`).
    package static func release() -> String {
        var uts = utsname()
        uname(&uts)
        return withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
