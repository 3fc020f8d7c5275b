import COpenSSLCrypto

/// AES-128-GCM as DLMS security suite 0 uses it, through OpenSSL's EVP interface, which (unlike swift-crypto)
/// accepts the 12-byte tag of DLMS frames.
public struct GCMCipher: Sendable {
    /// The fixed, public authentication key every Luxembourg Smarty meter uses (Luxmetering P1 spec §3.2.5).
    public static let smartyAuthenticationKey: [UInt8] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
    ]

    /// A decryption problem; the message says what the user can do.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// One line naming what went wrong.
        public let description: String
    }

    let key: [UInt8]
    let authenticationKey: [UInt8]
    /// When false the tag is not checked (AES-CTR only) and integrity rests on the telegram's own CRC, for
    /// meters whose authentication key is unknown.
    public let verifiesTag: Bool

    /// Creates a cipher.
    /// - Parameters:
    ///   - key: the 16-byte encryption key (GUEK) from the grid operator.
    ///   - authenticationKey: the 16-byte authentication key; Smarty's public key by default.
    ///   - verifiesTag: check the GCM tag (default) or decrypt without checking it.
    public init(key: [UInt8], authenticationKey: [UInt8] = smartyAuthenticationKey, verifiesTag: Bool = true) throws(Failure) {
        guard key.count == 16 else { throw Failure(description: "the decryption key must be 16 bytes (32 hex digits), got \(key.count) bytes") }
        guard authenticationKey.count == 16 else {
            throw Failure(description: "the authentication key must be 16 bytes (32 hex digits), got \(authenticationKey.count) bytes")
        }
        self.key = key
        self.authenticationKey = authenticationKey
        self.verifiesTag = verifiesTag
    }

    /// Parses a key written as 32 hexadecimal digits (spaces, colons and a `0x` prefix are ignored).
    public static func parseKey(_ text: String) -> [UInt8]? {
        try? readKey(text)
    }

    /// Parses a key like ``parseKey(_:)``, or says exactly what is wrong with it: a key copied from a PDF or an
    /// e-mail often has the right length but a stray letter, quote or invisible space, and "must be 32 digits"
    /// alone does not find it.
    /// - Throws: ``Failure`` whose description completes "the decryption key …": the first character that is
    ///   not a hexadecimal digit and its position in `text` (counted from 1), or how many digits there are.
    ///   It never repeats the key's digits, which are a secret.
    public static func readKey(_ text: String) throws(Failure) -> [UInt8] {
        // Spaces, colons and line ends are how keys come out of PDFs, e-mails and key files.
        var digits: [(character: Character, position: Int)] = []
        for (offset, character) in text.enumerated() where !" :\n\r\t".contains(character) && character != "\r\n" {
            digits.append((character, offset + 1))
        }
        if digits.count >= 2, digits[0].character == "0", digits[1].character == "x" || digits[1].character == "X" {
            digits.removeFirst(2)
        }
        var nibbles: [UInt8] = []
        for (character, position) in digits {
            guard let ascii = character.asciiValue, let nibble = TelegramFramer.hexValue(ascii) else {
                throw Failure(description: "must be \(keyFormat): \(shown(character)) at position \(position) is not a hexadecimal digit")
            }
            nibbles.append(nibble)
        }
        guard nibbles.count == 32 else {
            throw Failure(description: "must be \(keyFormat), got \(nibbles.count) digit\(nibbles.count == 1 ? "" : "s")")
        }
        return stride(from: 0, to: 32, by: 2).map { nibbles[$0] << 4 | nibbles[$0 + 1] }
    }

    /// How a key is written, for messages.
    static let keyFormat = "32 hexadecimal digits (16 bytes)"

    /// A character for a message: quoted when visible, as `U+00A0` when it would not be (a no-break space from a
    /// PDF looks exactly like the space p1mqtt ignores).
    private static func shown(_ character: Character) -> String {
        if let ascii = character.asciiValue, ascii > 0x20, ascii < 0x7F { return "'\(character)'" }
        return character.unicodeScalars.map { scalar in
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }.joined(separator: " ")
    }

    /// Decrypts a frame and checks its tag.
    /// - Throws: ``Failure`` when the tag does not match (almost always a wrong key) or OpenSSL fails.
    public func open(_ frame: DLMSFrame) throws(Failure) -> [UInt8] {
        let aad = [frame.securityControl] + authenticationKey
        if verifiesTag {
            return try Self.run(decrypt: true, cipher: EVP_aes_128_gcm(), key: key, iv: frame.iv, aad: aad,
                                input: frame.ciphertext, tag: frame.tag).output
        }
        // GCM encrypts with CTR starting at IV ‖ 00000002.
        return try Self.run(decrypt: true, cipher: EVP_aes_128_ctr(), key: key, iv: frame.iv + [0, 0, 0, 2], aad: nil,
                            input: frame.ciphertext, tag: nil).output
    }

    /// Encrypts a telegram into a frame, as a meter would (the simulator and tests use it).
    public func seal(_ plaintext: [UInt8], systemTitle: [UInt8], frameCounter: UInt32) throws(Failure) -> DLMSFrame {
        let counter = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: frameCounter >> UInt32($0)) }
        let aad = [UInt8(0x30)] + authenticationKey
        let result = try Self.run(decrypt: false, cipher: EVP_aes_128_gcm(), key: key, iv: systemTitle + counter,
                                  aad: aad, input: plaintext, tag: nil)
        return DLMSFrame(systemTitle: systemTitle, frameCounter: counter, ciphertext: result.output,
                         tag: Array(result.tag.prefix(DLMSFrame.tagLength)))
    }

    private static func run(
        decrypt: Bool, cipher: OpaquePointer?, key: [UInt8], iv: [UInt8], aad: [UInt8]?, input: [UInt8], tag: [UInt8]?
    ) throws(Failure) -> (output: [UInt8], tag: [UInt8]) {
        guard let context = EVP_CIPHER_CTX_new() else { throw Failure(description: "OpenSSL could not allocate a cipher context") }
        defer { EVP_CIPHER_CTX_free(context) }
        let isGCM = aad != nil || tag != nil || !decrypt
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var produced: Int32 = 0
        var total = 0
        var tagOut = [UInt8](repeating: 0, count: 16)
        let ok: Bool = key.withUnsafeBufferPointer { keyPointer in
            iv.withUnsafeBufferPointer { ivPointer in
                let initialise = decrypt ? EVP_DecryptInit_ex : EVP_EncryptInit_ex
                let update = decrypt ? EVP_DecryptUpdate : EVP_EncryptUpdate
                guard initialise(context, cipher, nil, nil, nil) == 1 else { return false }
                if isGCM {
                    guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(iv.count), nil) == 1 else { return false }
                }
                guard initialise(context, nil, nil, keyPointer.baseAddress, ivPointer.baseAddress) == 1 else { return false }
                if let aad {
                    let added = aad.withUnsafeBufferPointer { update(context, nil, &produced, $0.baseAddress, Int32(aad.count)) }
                    guard added == 1 else { return false }
                }
                let updated = output.withUnsafeMutableBufferPointer { out in
                    input.withUnsafeBufferPointer { update(context, out.baseAddress, &produced, $0.baseAddress, Int32(input.count)) }
                }
                guard updated == 1 else { return false }
                total = Int(produced)
                if decrypt, var tag {
                    let set = tag.withUnsafeMutableBytes {
                        EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32($0.count), $0.baseAddress)
                    }
                    guard set == 1 else { return false }
                }
                let final = output.withUnsafeMutableBufferPointer { out in
                    decrypt ? EVP_DecryptFinal_ex(context, out.baseAddress.map { $0 + total }, &produced)
                        : EVP_EncryptFinal_ex(context, out.baseAddress.map { $0 + total }, &produced)
                }
                guard final == 1 else { return false }
                total += Int(produced)
                if !decrypt {
                    let got = tagOut.withUnsafeMutableBytes { EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, $0.baseAddress) }
                    guard got == 1 else { return false }
                }
                return true
            }
        }
        guard ok else {
            throw Failure(description: decrypt && tag != nil
                ? "authentication tag does not match: the decryption key (or authentication key) is wrong"
                : "OpenSSL could not \(decrypt ? "decrypt" : "encrypt") the frame")
        }
        output.removeSubrange(total...)
        return (output, tagOut)
    }
}
