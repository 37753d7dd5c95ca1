import Glibc

/// Locks in memory what a small process has touched so far, and nothing else.
///
/// `mlockall(MCL_CURRENT)` locks and populates every mapping: in a Swift binary that is every
/// library page and every thread stack (the guard had 110 MiB resident and 240 MiB to 1 GiB locked).
/// This locks only the pages present in this process's page tables now (the code, data, heap and
/// stack it has used, as `/proc/self/pagemap` shows them), the top of the main thread's stack, and,
/// with `MCL_FUTURE | MCL_ONFAULT`, every page of a mapping made later as it is touched. A process
/// that rehearses its hot path before calling this never waits on paging on that path.
///
/// Best effort: a refused `mlock` (no CAP_IPC_LOCK, RLIMIT_MEMLOCK) leaves the pages unlocked.
/// Reads procfs only, writes nothing.
package enum WorkingSetLock {
    /// Bit 63 of a pagemap entry: the page is present in RAM; bit 62: it is in swap.
    private static let presentOrSwapped: UInt64 = 3 << 62
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Locks the pages this process uses now, `stackBytes` of the main thread's stack below the
    /// caller's frame, and future mappings on fault. Returns the number of bytes locked now.
    @discardableResult
    package static func lockTouchedPages(stackBytes: Int = 256 << 10) -> Int {
        guard let maps = ProcFile.bytes("/proc/self/maps") else { return 0 }
        let pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        defer { if pagemap >= 0 { close(pagemap) } }
        var here: UInt8 = 0
        let stackPointer = withUnsafeMutablePointer(to: &here) { UInt(bitPattern: $0) }
        var locked = 0
        for line in maps.split(separator: UInt8(ascii: "\n")) {
            guard let region = MappedRegion(line) else { continue }
            if region.name == "[stack]" {
                let low = max(region.start, (stackPointer &- UInt(stackBytes)) & ~UInt(pageSize - 1))
                if low < region.end, lockRange(low, region.end) { locked += Int(region.end - low) }
            } else if region.lockable, pagemap >= 0 {
                locked += lockPresentPages(region, pagemap: pagemap)
            }
        }
        _ = mlockall(Int32(MCL_FUTURE | MCL_ONFAULT))
        return locked
    }

    /// Forgets this process's page-table entries for the machine code of every mapped file (the
    /// binary and its libraries), so that only the code used from now on is present when
    /// `lockTouchedPages` runs: the dynamic loader's relocation pass and the start-up constructors
    /// had made megabytes of code present that the guard never runs again.
    ///
    /// Safety contract: only read-only executable file mappings are dropped (`r-xp`); their pages
    /// are clean copies of the file (no text relocations in these builds), so the next access maps
    /// the same bytes again from the page cache. Nothing writable is touched.
    package static func dropCodePages() {
        guard let maps = ProcFile.bytes("/proc/self/maps") else { return }
        for line in maps.split(separator: UInt8(ascii: "\n")) {
            guard let region = MappedRegion(line), region.isFileCode else { continue }
            _ = madvise(
                UnsafeMutableRawPointer(bitPattern: region.start), Int(region.end - region.start), MADV_DONTNEED)
        }
    }

    /// Locks the runs of present (or swapped-out) pages of `region`; returns the bytes locked.
    private static func lockPresentPages(_ region: MappedRegion, pagemap: Int32) -> Int {
        let chunk = 4096
        var entries = [UInt64](repeating: 0, count: chunk)
        var locked = 0
        var page = region.start
        var runStart: UInt?
        while page < region.end {
            let count = min(chunk, Int((region.end - page) / UInt(pageSize)))
            let offset = off_t(page / UInt(pageSize)) * 8
            let n = entries.withUnsafeMutableBytes { pread(pagemap, $0.baseAddress, count * 8, offset) }
            guard n == count * 8 else { break }
            for i in 0..<count {
                let address = page + UInt(i * pageSize)
                if entries[i] & presentOrSwapped != 0 {
                    if runStart == nil { runStart = address }
                } else if let start = runStart {
                    if lockRange(start, address) { locked += Int(address - start) }
                    runStart = nil
                }
            }
            page += UInt(count * pageSize)
        }
        if let start = runStart, lockRange(start, page) { locked += Int(page - start) }
        return locked
    }

    private static func lockRange(_ start: UInt, _ end: UInt) -> Bool {
        mlock(UnsafeRawPointer(bitPattern: start), Int(end - start)) == 0
    }
}

/// One line of `/proc/self/maps`: `start-end perms offset dev inode [name]`.
struct MappedRegion {
    var start: UInt
    var end: UInt
    /// Accessible, and not one of the kernel's own mappings (vdso, vvar), which cannot be locked.
    var lockable: Bool
    /// A read-only, executable, private mapping of a file (`r-xp` with a path).
    var isFileCode: Bool
    var name: Substring

    init?(_ line: ArraySlice<UInt8>) {
        let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5, let dash = fields[0].firstIndex(of: UInt8(ascii: "-")),
            let start = UInt(String(decoding: fields[0][..<dash], as: UTF8.self), radix: 16),
            let end = UInt(String(decoding: fields[0][(dash + 1)...], as: UTF8.self), radix: 16), start < end
        else { return nil }
        self.start = start
        self.end = end
        let path = fields.count > 5 ? String(decoding: fields[5], as: UTF8.self) : ""
        name = Substring(path.drop { $0 == " " })
        // Inaccessible reservations hold nothing.
        let accessible = fields[1].prefix(3).contains { $0 != UInt8(ascii: "-") }
        lockable = accessible && !(name.hasPrefix("[v") && name.hasSuffix("]"))
        isFileCode = fields[1].elementsEqual("r-xp".utf8) && name.hasPrefix("/")
    }
}
