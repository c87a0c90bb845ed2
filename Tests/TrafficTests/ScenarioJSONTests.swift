import Foundation
import Testing
@testable import Traffic

@Suite struct ScenarioJSONTests {
    @Test(arguments: Scenario.builtIn)
    func roundTrip(scenario: Scenario) throws {
        let decoded = try Scenario.decode(scenario.jsonData())
        #expect(decoded == scenario)
        #expect(Scenario.named(scenario.name) == scenario)
    }

    @Test func largeSeedRoundTrips() throws {
        let s = Scenario.default.withSeed(UInt64.max - 12345)
        #expect(try Scenario.decode(s.jsonData()) == s)
    }

    @Test func minimalFileGetsDefaults() throws {
        let json = """
        {"name": "mini", "seed": 9, "phases": [
          {"name": "calm", "duration": 2, "normalRate": 1000},
          {"name": "hit", "duration": 1, "normalRate": 1000,
           "attack": {"kind": "dns-reflection", "rate": 5000, "victim": "198.51.100.7"}}]}
        """
        let s = try Scenario.decode(Data(json.utf8))
        #expect(s.epoch == Scenario.defaultEpoch && s.arrivals == .jittered && s.normal == NormalProfile())
        #expect(s.phases[1].attack?.sources == .reflectors(2000))
        #expect(collect(s).count == 8000)
    }

    func error(_ json: String) -> ScenarioError? {
        do { _ = try Scenario.decode(Data(json.utf8), file: "bad.json"); return nil } catch { return error }
    }

    static let phase0 = #"{"name": "calm", "duration": 2, "normalRate": 1000}"#

    @Test func badFilesNameTheField() throws {
        let phase0 = Self.phase0
        let cases: [(String, String, String)] = [
            (#"{"name": "x", "seed": 1, "phases": [\#(phase0), {"name": "a", "duration": 1, "normalRate": 1, "attack": {"kind": "smurf", "rate": 5, "victim": "1.2.3.4"}}]}"#,
             "phases[1].attack.kind", "unknown attack kind 'smurf'"),
            (#"{"name": "x", "seed": 1, "phases": [{"name": "a", "normalRate": 1}]}"#,
             "phases[0].duration", "missing required field 'duration'"),
            (#"{"name": "x", "seed": 1, "phases": [{"name": "a", "duration": -3, "normalRate": 1}]}"#,
             "phases[0].duration", "positive"),
            (#"{"name": "x", "seed": 1, "phases": [{"name": "a", "duration": 1, "normalRate": "fast"}]}"#,
             "phases[0].normalRate", "expected a number"),
            (#"{"name": "x", "seed": 1, "phases": [{"name": "a", "duration": 1, "attack": {"kind": "syn-flood", "rate": 5, "victim": "300.1.2.3"}}]}"#,
             "phases[0].attack.victim", "not an IPv4 address"),
            (#"{"name": "x", "seed": 1, "phases": [{"name": "a", "duration": 1, "attack": {"kind": "syn-flood", "rate": 5, "victim": "2001:db8::1"}}]}"#,
             "phases[0].attack.victim", "not an IPv4 address"),
            (#"{"name": "x", "seed": 1, "phases": [{"name": "a", "duration": 1, "attack": {"kind": "syn-flood", "rate": 5, "victim": "1.2.3.4", "sources": {"prefix": "10.0.0.0/30", "count": 9}}}]}"#,
             "phases[0].attack.sources.count", "count must be"),
            (#"{"name": "x", "seed": 1, "normal": {"clients": 0}, "phases": [\#(phase0)]}"#,
             "normal.clients", "clients must be"),
            (#"{"name": "x", "seed": 1, "phases": []}"#, "phases", "at least one phase"),
            (#"{"name": "x", "seed": 1, "arrivals": "bursty", "phases": [\#(phase0)]}"#, "arrivals", "bursty"),
            (#"{"name": "x", "seed": 1, "phases": [\#(phase0)"#, "", "not valid JSON"),
        ]
        for (json, path, message) in cases {
            let e = try #require(error(json), "accepted: \(json)")
            #expect(e.path == path, "\(e)")
            #expect(message.isEmpty || e.message.contains(message), "\(e)")
            #expect(e.description.hasPrefix("bad.json"))
        }
    }

    @Test func loadAndSave() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("traffic-\(UInt32.random(in: 0...UInt32.max)).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Scenario.udpFlood.save(path: path)
        #expect(try Scenario.load(path: path) == Scenario.udpFlood)
        #expect(throws: ScenarioError.self) { try Scenario.load(path: path + ".missing") }
    }
}
