import Foundation

/// Checks responses against `docs/openapi.json`: the path and status must be documented with the response's
/// content type, and a JSON body must match the schema. The schema checker covers the subset of JSON Schema
/// the document uses: `$ref`, `type` (object, array, string, number, integer, boolean), `nullable`,
/// `required`, `properties`, `items`, `enum`.
struct OpenAPIChecker {
    let document: [String: Any]

    init() throws {
        let url = WebFixtures.repository.appendingPathComponent("docs/openapi.json")
        guard let document = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw WebFixtures.Failure("docs/openapi.json is not a JSON object")
        }
        self.document = document
    }

    /// Every problem of `response` to `GET path` (the documented path template, e.g. `/api/v1/history/{kind}`);
    /// empty when it conforms.
    func problems(path: String, response: HTTPTestResponse) -> [String] {
        guard let paths = document["paths"] as? [String: Any], let item = paths[path] as? [String: Any],
              let get = item["get"] as? [String: Any], let responses = get["responses"] as? [String: Any] else {
            return ["\(path) is not in docs/openapi.json"]
        }
        guard var documented = responses[String(response.status)] as? [String: Any] else {
            return ["\(path): status \(response.status) is not documented (\(responses.keys.sorted()))"]
        }
        if let ref = documented["$ref"] as? String, let resolved = resolve(ref) { documented = resolved }
        guard let content = documented["content"] as? [String: Any] else {
            return response.body.isEmpty ? [] : ["\(path) \(response.status): body but no documented content"]
        }
        let type = (response.header("content-type") ?? "").split(separator: ";").first.map(String.init) ?? ""
        guard let media = content[type] as? [String: Any] else {
            return ["\(path) \(response.status): content type '\(type)' not documented (\(content.keys.sorted()))"]
        }
        guard type == "application/json", let schema = media["schema"] else { return [] }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed])
        } catch {
            return ["\(path) \(response.status): body is not JSON: \(error)"]
        }
        return check(value, against: schema, at: "\(path) \(response.status) $")
    }

    func resolve(_ ref: String) -> [String: Any]? {
        guard ref.hasPrefix("#/") else { return nil }
        var node: Any = document
        for part in ref.dropFirst(2).split(separator: "/") {
            guard let object = node as? [String: Any], let next = object[String(part)] else { return nil }
            node = next
        }
        return node as? [String: Any]
    }

    func check(_ value: Any, against schemaValue: Any, at location: String) -> [String] {
        guard var schema = schemaValue as? [String: Any] else { return ["\(location): schema is not an object"] }
        if let ref = schema["$ref"] as? String {
            guard let resolved = resolve(ref) else { return ["\(location): unresolvable \(ref)"] }
            schema = resolved
        }
        if value is NSNull {
            return (schema["nullable"] as? Bool) == true || schema["type"] == nil ? [] : ["\(location): null but not nullable"]
        }
        var problems: [String] = []
        if let type = schema["type"] as? String {
            let matches: Bool = switch type {
            case "object": value is [String: Any]
            case "array": value is [Any]
            case "string": value is String
            case "boolean": (value as? NSNumber).map(isBool) ?? false
            case "integer": (value as? NSNumber).map { !isBool($0) && $0.doubleValue == $0.doubleValue.rounded() } ?? false
            case "number": (value as? NSNumber).map { !isBool($0) } ?? false
            default: false
            }
            if !matches { return ["\(location): expected \(type), got \(value)"] }
        }
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { "\($0)" == "\(value)" }) {
            problems.append("\(location): \(value) not in \(allowed)")
        }
        if let object = value as? [String: Any] {
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                problems.append("\(location): required property '\(key)' missing")
            }
            for (key, propertySchema) in schema["properties"] as? [String: Any] ?? [:] {
                if let property = object[key] { problems += check(property, against: propertySchema, at: "\(location).\(key)") }
            }
        }
        if let array = value as? [Any], let items = schema["items"] {
            for (index, element) in array.enumerated() { problems += check(element, against: items, at: "\(location)[\(index)]") }
        }
        return problems
    }

    /// JSONSerialization gives booleans as NSNumber of Objective-C type `c` (char), numbers as `q` or `d`.
    private func isBool(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }
}
