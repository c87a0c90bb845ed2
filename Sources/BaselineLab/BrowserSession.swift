/// The three engines of the seed's mix.
public enum Engine: String, Sendable, Codable, CaseIterable, Hashable {
    case chromium, webkit, firefox
}

/// An element a session found (the protocol's opaque reference).
public struct ElementRef: Sendable, Hashable {
    public var id: String
}

/// What an agent does with a browser: the subset of W3C WebDriver it needs. Two transports
/// implement it: HTTP (chromedriver, WebKitWebDriver) and Marionette (Firefox; Debian 12 has
/// no geckodriver, which is itself a translator to Marionette).
public protocol BrowserSession: AnyObject, Sendable {
    var engine: Engine { get }
    /// Loads `url` and waits for its load event.
    func navigate(_ url: String) throws(BaselineError)
    func currentURL() throws(BaselineError) -> String
    /// Runs `script` as a function body with `args`; returns its JSON-decoded result, with
    /// elements as ``ElementRef``.
    func execute(_ script: String, _ args: [Any]) throws(BaselineError) -> Any?
    func find(_ css: String) throws(BaselineError) -> [ElementRef]
    func click(_ e: ElementRef) throws(BaselineError)
    func type(_ e: ElementRef, _ text: String) throws(BaselineError)
    /// Ends the session (and the browser it started).
    func quit()
}

/// W3C's key for an element reference in JSON.
let webElementKey = "element-6066-11e4-a52e-4f735466cecf"

/// Turns element references in a decoded result into ``ElementRef``, recursively.
func decodeElements(_ v: Any?) -> Any? {
    if let d = v as? [String: Any] {
        if d.count == 1, let id = d[webElementKey] as? String { return ElementRef(id: id) }
        return d.mapValues { decodeElements($0) as Any }
    }
    if let a = v as? [Any] { return a.map { decodeElements($0) as Any } }
    return v
}

/// And back, for script arguments.
func encodeElements(_ v: Any) -> Any {
    if let e = v as? ElementRef { return [webElementKey: e.id] }
    if let a = v as? [Any] { return a.map(encodeElements) }
    return v
}
