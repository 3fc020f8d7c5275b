/// Checks a configuration document's JSON syntax before it is decoded, for what Foundation's decoder does not
/// say or does not catch: where a syntax error is (line and column, with a hint for the usual slips: a missing
/// comma, a comment, single quotes), a comma before `}` or `]` (which it accepts), and a key given twice in one
/// object (where it silently keeps one, so a second `"source"` would be ignored without a word).
///
/// It only checks; the document is then decoded as before. Nesting deeper than ``maximumDepth`` is refused,
/// so hostile input cannot exhaust the stack.
enum JSONSyntaxCheck {
    /// Deeper than any configuration needs (it has three levels).
    static let maximumDepth = 64

    /// Every duplicate key and the first syntax error, each as one line starting with its position
    /// ("line 3, column 5: …"); empty when the document is well-formed.
    static func problems(in bytes: [UInt8]) -> [String] {
        var scanner = Scanner(bytes: bytes)
        // A byte-order mark, as some Windows editors write, is not part of the document.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { scanner.offset = 3 }
        do throws(Failure) {
            scanner.skipSpace()
            if scanner.atEnd { throw scanner.failure(at: scanner.offset, "the file is empty; a configuration is a JSON object ({ … })") }
            try scanner.value(depth: 0)
            scanner.skipSpace()
            if !scanner.atEnd {
                let found = scanner.describe(scanner.offset)
                throw scanner.failure(at: scanner.offset, "\(found) after the end of the document (one '}' too many, or a missing '{'?)")
            }
        } catch {
            scanner.problems.append(error.description)
        }
        return scanner.problems
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private struct Scanner {
        let bytes: [UInt8]
        var offset = 0
        var problems: [String] = []

        var atEnd: Bool { offset >= bytes.count }

        mutating func skipSpace() {
            while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
        }

        mutating func value(depth: Int) throws(Failure) {
            skipSpace()
            guard offset < bytes.count else { throw failure(at: offset, "the document ends where a value should be (is something cut off?)") }
            switch bytes[offset] {
            case UInt8(ascii: "{"): try object(depth: depth + 1)
            case UInt8(ascii: "["): try array(depth: depth + 1)
            case UInt8(ascii: "\""): _ = try string()
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            default: throw unexpected(expecting: "a value")
            }
        }

        private mutating func object(depth: Int) throws(Failure) {
            guard depth <= JSONSyntaxCheck.maximumDepth else { throw failure(at: offset, "nested deeper than \(JSONSyntaxCheck.maximumDepth) levels") }
            offset += 1  // {
            var keys: [[UInt8]: Int] = [:]
            skipSpace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") { offset += 1; return }
            while true {
                skipSpace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
                    if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
                        throw failure(at: offset, "a ',' before '}' (JSON allows no comma after the last member: remove it)")
                    }
                    throw unexpected(expecting: "a key in double quotes")
                }
                let start = offset
                let key = try string()
                if let first = keys[key] {
                    let name = String(decoding: key, as: UTF8.self)
                    problems.append("\(position(start)): the key \"\(name)\" appears twice in one object (first at \(position(first))); only one can count")
                } else {
                    keys[key] = start
                }
                skipSpace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw unexpected(expecting: "':' after the key") }
                offset += 1
                try value(depth: depth)
                skipSpace()
                guard offset < bytes.count else { throw failure(at: offset, "the document ends inside an object (a '}' is missing)") }
                if bytes[offset] == UInt8(ascii: ",") { offset += 1; continue }
                if bytes[offset] == UInt8(ascii: "}") { offset += 1; return }
                if bytes[offset] == UInt8(ascii: "\"") {
                    throw failure(at: offset, "expected ',' or '}' after a value, found '\"' (is a comma missing at the end of the line before?)")
                }
                throw unexpected(expecting: "',' or '}' after a value")
            }
        }

        private mutating func array(depth: Int) throws(Failure) {
            guard depth <= JSONSyntaxCheck.maximumDepth else { throw failure(at: offset, "nested deeper than \(JSONSyntaxCheck.maximumDepth) levels") }
            offset += 1  // [
            skipSpace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") { offset += 1; return }
            while true {
                skipSpace()
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
                    throw failure(at: offset, "a ',' before ']' (JSON allows no comma after the last item: remove it)")
                }
                try value(depth: depth)
                skipSpace()
                guard offset < bytes.count else { throw failure(at: offset, "the document ends inside a list (a ']' is missing)") }
                if bytes[offset] == UInt8(ascii: ",") { offset += 1; continue }
                if bytes[offset] == UInt8(ascii: "]") { offset += 1; return }
                throw unexpected(expecting: "',' or ']' after an item")
            }
        }

        /// The raw bytes between the quotes (escapes left as written: enough to compare keys).
        private mutating func string() throws(Failure) -> [UInt8] {
            let open = offset
            offset += 1
            let start = offset
            while offset < bytes.count {
                let byte = bytes[offset]
                if byte == UInt8(ascii: "\"") {
                    offset += 1
                    return Array(bytes[start..<(offset - 1)])
                }
                if byte == UInt8(ascii: "\\") {
                    offset += 1
                    guard offset < bytes.count else { break }
                    let escaped = bytes[offset]
                    if escaped == UInt8(ascii: "u") {
                        let digits = bytes[min(bytes.count, offset + 1)..<min(bytes.count, offset + 5)]
                        guard digits.count == 4, digits.allSatisfy({ isHexDigit($0) }) else {
                            throw failure(at: offset - 1, "'\\u' must be followed by four hexadecimal digits")
                        }
                        offset += 5
                        continue
                    }
                    guard "\"\\/bfnrt".utf8.contains(escaped) else {
                        throw failure(at: offset - 1, "unknown escape '\\\(printable(escaped))' in a string (write a backslash as \\\\)")
                    }
                    offset += 1
                    continue
                }
                if byte < 0x20 {
                    throw failure(at: offset, byte == 0x0A
                        ? "a line break inside a string (is a closing '\"' missing?)"
                        : "a control character inside a string")
                }
                offset += 1
            }
            throw failure(at: open, "a string that is never closed (a '\"' is missing)")
        }

        private mutating func number() throws(Failure) {
            let start = offset
            if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            let integerStart = offset
            while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
            let integerDigits = offset - integerStart
            guard integerDigits > 0 else { throw failure(at: start, "a '-' without a number after it") }
            if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") {
                throw failure(at: start, "a number with a leading zero (write 8, not 08)")
            }
            if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
                offset += 1
                let fraction = offset
                while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
                guard offset > fraction else { throw failure(at: start, "a number ending in '.' (write 1.0 or 1)") }
            }
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
                offset += 1
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
                let exponent = offset
                while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
                guard offset > exponent else { throw failure(at: start, "a number with an incomplete exponent") }
            }
        }

        private mutating func literal(_ word: String) throws(Failure) {
            let expected = Array(word.utf8)
            guard bytes.count - offset >= expected.count, Array(bytes[offset..<(offset + expected.count)]) == expected else {
                throw unexpected(expecting: "a value")
            }
            offset += expected.count
        }

        private func unexpected(expecting: String) -> Failure {
            guard offset < bytes.count else {
                return failure(at: offset, "the document ends where \(expecting) should be (is something cut off?)")
            }
            let byte = bytes[offset]
            let hint: String
            switch byte {
            case UInt8(ascii: "/"), UInt8(ascii: "#"): hint = " (JSON has no comments; use a \"comment\" key at the top level, or remove it)"
            case UInt8(ascii: "'"): hint = " (JSON strings and keys take double quotes)"
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
                hint = " (text and keys need double quotes; true, false and null are lower-case)"
            default: hint = ""
            }
            return failure(at: offset, "expected \(expecting), found \(describe(offset))\(hint)")
        }

        func describe(_ at: Int) -> String {
            guard at < bytes.count else { return "the end" }
            return bytes[at] == UInt8(ascii: "'") ? "a single quote" : "'\(printable(bytes[at]))'"
        }

        func failure(at: Int, _ message: String) -> Failure {
            Failure(description: "\(position(at)): \(message)")
        }

        /// "line L, column C", counting from 1, columns in bytes (the files are ASCII in practice).
        func position(_ at: Int) -> String {
            var line = 1
            var lineStart = 0
            for index in 0..<min(at, bytes.count) where bytes[index] == 0x0A {
                line += 1
                lineStart = index + 1
            }
            return "line \(line), column \(at - lineStart + 1)"
        }

        private func printable(_ byte: UInt8) -> String {
            (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "byte 0x\(String(byte, radix: 16, uppercase: true))"
        }

        private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

        private func isHexDigit(_ byte: UInt8) -> Bool {
            isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }
    }
}
