// libFuzzer target: the YAML config decoder must never crash, whatever the bytes.
// Build and run: Fuzz/run.sh (see there).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let (config, diagnostics) = ConfigDecoder(file: "fuzz.yaml").decode(bytes)
    if config == nil && diagnostics.isEmpty { fatalError("rejected without a diagnostic") }
    _ = MountInfoParser.parse(String(decoding: bytes, as: UTF8.self))
    _ = IniFile(text: String(decoding: bytes, as: UTF8.self))
    return 0
}
