import Mapping

/// Checks the names in `topics.rename`, `topics.intervals` and `topics.disable` against what p1mqtt can
/// publish, so a typo (`power_imprt`) is an error with a suggestion instead of a setting that silently does
/// nothing; and checks that no rename sends a value onto a topic another value or p1mqtt itself uses (two
/// quantities alternating in one Home Assistant sensor).
///
/// A name is a key (`power_import`, `reading`), a path (`gas_1/reading`), an OBIS code (`1-0:1.8.1`), the key
/// of a line the catalogue does not know (`obis_1_0_99_99_9`), or, for switching off, a group (a quantity,
/// `phases`, `derived`, `mbus`, an M-Bus kind or device such as `gas` or `gas_1`).
enum ValueNames {
    /// Every key of the electricity meter's values, derived ones included.
    static let meterKeys: Set<String> = Set(ObisCatalogue.definitions.filter { $0.scope != .mbus }.flatMap { definition in
        // A value sent with its own time stamp (a peak and when it happened) publishes the time as `<key>_time`.
        if case .timestampedNumber = definition.layout { return [definition.key, "\(definition.key)_time"] }
        return [definition.key]
    })

    /// Every key of an M-Bus device's values.
    static let deviceKeys: Set<String> =
        ReadingMapper.deviceKeys.union(ObisCatalogue.definitions.filter { $0.scope == .mbus }.map(\.key))

    /// Groups a value can be switched off by (see ``ReadingMapper``).
    static let groups: Set<String> =
        Set(ObisDefinition.Quantity.allCases.map(\.rawValue)).union(["phases", "derived", "mbus", "other"]).union(ReadingMapper.deviceKinds)

    /// Where a name is used: each setting matches values its own way (see ``TopicMap`` and ``ReadingThrottle``).
    enum Use {
        /// `topics.rename`: keys, paths and OBIS codes.
        case rename
        /// `topics.intervals`: keys and paths.
        case interval
        /// `topics.disable`: keys, paths, OBIS codes and groups.
        case disable
    }

    /// Why `name` matches nothing p1mqtt publishes, with the closest known name; nil when it can match.
    static func problem(with name: String, use: Use) -> String? {
        if let code = ObisCode(name), code.description != name {
            // Matching compares the canonical form: "1-0:1.8.1*255" would never match.
            return "\"\(name)\": write the OBIS code as \(code.description)"
        }
        if isKnown(name, use: use) { return nil }
        if use == .interval, ObisCode(name) != nil {
            return "\"\(name)\": intervals are set by key or path (such as power_import or gas_1/reading), not by OBIS code"
        }
        if use != .interval, ObisCode("1-0:\(name)") != nil {
            return "\"\(name)\": an OBIS code needs all five groups, such as 1-0:\(name) (electricity) or 0-1:\(name) (M-Bus channel 1)"
        }
        var candidates = meterKeys.union(deviceKeys)
        if use == .disable { candidates.formUnion(groups) }
        if let slash = name.firstIndex(of: "/") {
            let device = String(name[..<slash])
            let key = String(name[name.index(after: slash)...])
            if deviceSegment(device) {
                candidates = Set(deviceKeys.map { "\(device)/\($0)" })
            } else {
                let channel = device.lastIndex(of: "_").map { String(device[device.index(after: $0)...]) } ?? "1"
                let suggestion = closest(to: device, in: ReadingMapper.deviceKinds.map { "\($0)_\(channel)" })
                return "\"\(name)\": \"\(device)\" is not an M-Bus device (those are gas_1, water_2, heat_1 …)"
                    + (suggestion.map { "; did you mean \"\($0)/\(key)\"?" } ?? "")
            }
        }
        let what = switch use {
        case .rename: "key, path or OBIS code"
        case .interval: "key or path"
        case .disable: "key, path, OBIS code or group"
        }
        let hint = closest(to: name, in: candidates).map { "; did you mean \"\($0)\"?" } ?? " (docs/topics.md lists them)"
        return "\"\(name)\" is not a \(what) p1mqtt publishes\(hint)"
    }

    private static func isKnown(_ name: String, use: Use) -> Bool {
        if meterKeys.contains(name) || deviceKeys.contains(name) || name.hasPrefix("obis_") { return true }
        if use != .interval, ObisCode(name) != nil { return true }
        if let slash = name.firstIndex(of: "/") {
            return deviceSegment(String(name[..<slash])) && deviceKeys.contains(String(name[name.index(after: slash)...]))
        }
        return use == .disable && (groups.contains(name) || deviceSegment(name))
    }

    /// `gas_1`, `water_2`, `mbus_3`: a kind and a channel (1–9 in DSMR; up to 99 accepted).
    static func deviceSegment(_ text: String) -> Bool {
        guard let underscore = text.lastIndex(of: "_") else { return false }
        let channel = text[text.index(after: underscore)...]
        return ReadingMapper.deviceKinds.contains(String(text[..<underscore]))
            && (1...2).contains(channel.count) && channel.allSatisfy(\.isASCII) && Int(channel).map { $0 >= 1 } == true
    }

    /// Renames that send a value where it would collide: two names onto one topic, onto p1mqtt's own topics
    /// (`ownTopics`: what each carries → its topic relative to the base), or onto the default topic of a value that is still published there.
    static func renameCollisions(_ renames: [String: String], disabled: Set<String>, base: String,
                                 ownTopics: [String: String]) -> [String] {
        let map = TopicMap(base: base, renames: renames, disabled: disabled)
        func full(_ target: String) -> String {
            target.hasPrefix("/") ? String(target.dropFirst()) : (base.isEmpty ? target : "\(base)/\(target)")
        }
        var problems: [String] = []
        var byTopic: [String: [String]] = [:]
        for (name, target) in renames { byTopic[full(target), default: []].append(name) }
        for (topic, names) in byTopic.sorted(by: { $0.key < $1.key }) where names.count > 1 {
            problems.append("topics.rename: \(names.sorted().joined(separator: " and ")) \(names.count == 2 ? "both" : "all") go to \"\(topic)\"; each value needs a topic of its own")
        }
        let own = Dictionary(ownTopics.map { (full($0.value), $0.key) }, uniquingKeysWith: { first, _ in first })
        for (name, target) in renames.sorted(by: { $0.key < $1.key }) {
            let topic = full(target)
            if let what = own[topic] {
                problems.append("topics.rename.\(name): \"\(topic)\" is p1mqtt's own \(what) topic; choose another")
                continue
            }
            // The value whose default topic this is, if it is still published there (not renamed, not off).
            let prefix = base.isEmpty ? "" : "\(base)/"
            guard topic.hasPrefix(prefix) else { continue }
            let path = String(topic.dropFirst(prefix.count))
            let renamedKey = ObisCode(name).flatMap { ObisCatalogue.definition(for: $0)?.key }
            guard path != name, path != renamedKey else { continue }
            let occupant: TopicMap.Value?
            if let index = ObisCatalogue.index(forKey: path), meterKeys.contains(path) {
                let definition = ObisCatalogue.definitions[index]
                occupant = TopicMap.Value(key: path, code: definition.scope == .exact ? definition.code : nil,
                                          groups: ObisCatalogue.valueGroups[index])
            } else if let slash = path.firstIndex(of: "/"), deviceSegment(String(path[..<slash])),
                      deviceKeys.contains(String(path[path.index(after: slash)...])) {
                occupant = TopicMap.Value(device: String(path[..<slash]), key: String(path[path.index(after: slash)...]))
            } else {
                occupant = nil
            }
            if let occupant, map.topic(for: occupant) == topic {
                problems.append("topics.rename.\(name): \"\(topic)\" is where \(occupant.path) is published; choose another topic (or rename or disable \(occupant.path) too)")
            }
        }
        return problems
    }

    /// The known name nearest to `name`, if it is near enough to be a typo.
    private static func closest(to name: String, in candidates: some Sequence<String>) -> String? {
        let limit = max(2, name.count / 3)
        return candidates
            .map { (name: $0, distance: editDistance(name, $0)) }
            .filter { $0.distance <= limit }
            .min { ($0.distance, $0.name) < ($1.distance, $1.name) }?
            .name
    }
}
