import Foundation
import Testing

@testable import P1MQTT

/// ``StartupMemory``: unmaps clean read-only file pages, and never a page whose content differs from its file.
@Suite("Start-up memory hand-back")
struct StartupMemoryTests {
    /// A private file mapping of `pages` pages, every page filled with its own number.
    final class MappedFile {
        let address: UnsafeMutableRawPointer
        let length: Int
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

        init(pages: Int) throws {
            length = pages * pageSize
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("startup-memory-\(UUID().uuidString)").path
            var bytes = [UInt8](repeating: 0, count: length)
            for page in 0..<pages { bytes.replaceSubrange(page * pageSize..<(page + 1) * pageSize, with: repeatElement(UInt8(page + 1), count: pageSize)) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let fd = open(path, O_RDONLY)
            defer { close(fd); unlink(path) }
            let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0)
            guard let mapped, mapped != MAP_FAILED else { throw CocoaError(.fileReadUnknown) }
            address = mapped
        }

        deinit { munmap(address, length) }

        func byte(page: Int) -> UInt8 { address.load(fromByteOffset: page * pageSize, as: UInt8.self) }

        /// Reads every page, so all of them are resident.
        func touchAll() -> Int { (0..<length / pageSize).reduce(0) { $0 + Int(byte(page: $1)) } }

        /// This mapping's `Rss:` and `Anonymous:` in kB, from /proc/self/smaps.
        func residency() throws -> (rss: Int, anonymous: Int) {
            // /proc files report size 0: read to the end rather than by the size.
            guard let handle = FileHandle(forReadingAtPath: "/proc/self/smaps") else { throw CocoaError(.fileNoSuchFile) }
            defer { try? handle.close() }
            let smaps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            let start = String(UInt(bitPattern: address), radix: 16)
            var inside = false
            var rss: Int?
            for line in smaps.split(separator: "\n") {
                if let dash = line.firstIndex(of: "-"), line[..<dash].allSatisfy(\.isHexDigit), line.contains(" ") {
                    if inside { break }
                    inside = line[..<dash].drop(while: { $0 == "0" }) == start[...]
                } else if inside, line.hasPrefix("Rss:") {
                    rss = Int(line.split(separator: " ")[1])
                } else if inside, line.hasPrefix("Anonymous:"), let rss {
                    return (rss, Int(line.split(separator: " ")[1]) ?? -1)
                }
            }
            throw CocoaError(.fileReadCorruptFile)
        }
    }

    @Test("clean pages of a read-only file mapping are released and read back unchanged")
    func releasesCleanPages() throws {
        let file = try MappedFile(pages: 64)
        let sum = file.touchAll()
        #expect(try file.residency().rss == 64 * file.pageSize / 1024)
        #expect(StartupMemory.release() >= file.length)
        #expect(try file.residency().rss == 0)
        #expect(file.touchAll() == sum)
        #expect(file.byte(page: 63) == 64)
    }

    @Test("a read-only mapping holding a changed page (relocations, breakpoints) is left alone")
    func keepsChangedPages() throws {
        let file = try MappedFile(pages: 16)
        _ = file.touchAll()
        // What the dynamic loader does to a program's relocated data: write, then make it read-only again.
        #expect(mprotect(file.address, file.length, PROT_READ | PROT_WRITE) == 0)
        file.address.storeBytes(of: 0xAB, as: UInt8.self)
        #expect(mprotect(file.address, file.length, PROT_READ) == 0)
        #expect(try file.residency().anonymous > 0)
        StartupMemory.release()
        #expect(file.byte(page: 0) == 0xAB)
        #expect(try file.residency().rss == 16 * file.pageSize / 1024)
    }
}

/// ``HeapMemory``: freed blocks in the middle of a heap stop counting as resident after a trim.
@Suite("Heap trim")
struct HeapMemoryTests {
    static func residentAnonymousKB() throws -> Int {
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/status") else { throw CocoaError(.fileNoSuchFile) }
        defer { try? handle.close() }
        let status = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    @Test("8 MB of freed 1 KB blocks below a live one are given back")
    func trimsFreedBlocks() throws {
        // Small blocks come from the heap (not separate mappings); the last one stays allocated, so the heap
        // cannot simply shrink from the top, and the freed pages below it stay resident until trimmed.
        let blocks = (0..<8192).map { _ -> UnsafeMutableRawPointer? in
            let block = malloc(1024)
            block?.initializeMemory(as: UInt8.self, repeating: 0xA5, count: 1024)
            return block
        }
        defer { free(blocks.last ?? nil) }
        for block in blocks.dropLast() { free(block) }
        let before = try Self.residentAnonymousKB()
        #expect(HeapMemory.trim())
        let after = try Self.residentAnonymousKB()
        #expect(before - after >= 4096, "RssAnon \(before) kB → \(after) kB")
    }
}
