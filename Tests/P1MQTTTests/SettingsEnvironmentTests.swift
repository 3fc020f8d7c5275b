import Testing
@testable import P1MQTT

@Suite("Secrets from the environment")
struct SettingsEnvironmentTests {
    @Test func passwordAndKeyComeFromTheEnvironmentWhenTheFileHasNone() throws {
        var settings = Settings()
        try settings.applyEnvironment(["P1MQTT_MQTT_PASSWORD": "from env", "P1MQTT_METER_KEY": "00112233445566778899aabbccddeeff"])
        #expect(settings.password == "from env")
        #expect(settings.key == "00112233445566778899aabbccddeeff")
    }

    @Test func theFileWinsAndEmptyVariablesAreIgnored() throws {
        var settings = Settings()
        settings.password = "from file"
        try settings.applyEnvironment(["P1MQTT_MQTT_PASSWORD": "from env", "P1MQTT_METER_KEY": ""])
        #expect(settings.password == "from file")
        #expect(settings.key == nil)
    }

    @Test func aMalformedKeyNamesTheVariable() {
        var settings = Settings()
        do {
            try settings.applyEnvironment(["P1MQTT_METER_KEY": "1234"])
            Issue.record("a malformed key was accepted")
        } catch {
            #expect(error.problems == ["P1MQTT_METER_KEY: the decryption key must be 32 hexadecimal digits (16 bytes), got 4 digits"])
        }
    }

    @Test func secretFilesLoseOnlyTheirFinalLineEnd() {
        #expect(Settings.secretFileText(Array("pass word \r\n".utf8)) == "pass word ")
        #expect(Settings.secretFileText(Array("x\n\n".utf8)) == "x")
        #expect(Settings.secretFileText([]) == "")
    }
}
