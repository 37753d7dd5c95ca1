/// Keeps the last `limit` bytes of a stream while counting all of it; memory stays bounded.
struct TailBuffer {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var total = 0

    init(limit: Int) {
        self.limit = limit
        bytes.reserveCapacity(min(limit * 2, 1 << 20))
    }

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        total += chunk.count
        if chunk.count >= limit {
            bytes = Array(chunk.suffix(limit))
            return
        }
        bytes.append(contentsOf: chunk)
        if bytes.count > limit * 2 {
            bytes.removeFirst(bytes.count - limit)
        }
    }

    var tail: [UInt8] { bytes.count > limit ? Array(bytes.suffix(limit)) : bytes }
}
