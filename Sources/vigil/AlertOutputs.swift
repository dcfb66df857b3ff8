import ArgumentParser
import Foundation
import VigilConnectors
import VigilDispatch
import VigilRuntime

/// Builds the dispatcher `vigil run` sends alerts to, from `--config` and the simple
/// flags: without a config every alert goes to stdout or `--alerts FILE` (never rotated)
/// and, with `--webhook URL`, also to that webhook.
struct AlertOutputs {
    var dispatcher: Dispatcher
    var webhooks: [WebhookChannel]
    var config: DispatchConfig?

    struct Failure: Error {
        var message: String
    }

    static func make(configPath: String?, alerts: String?, webhook: String?, spool: String, retryCapMs: Int64,
                     deadLetter: LineWriter) throws(Failure) -> AlertOutputs {
        var config: DispatchConfig?
        if let path = configPath {
            guard let data = FileManager.default.contents(atPath: path) else { throw Failure(message: "cannot read the configuration `\(path)`") }
            do { config = try DispatchConfig.parse(path: path, text: String(decoding: data, as: UTF8.self)) } catch {
                throw Failure(message: String(error.description.dropFirst("error: ".count)).trimmingCharacters(in: .newlines))
            }
        }
        let box = DeadLetterBox(deadLetter)
        let dead: @Sendable (String) -> Void = { box.write($0) }
        // A stdout channel named in the configuration is the default output itself.
        let stdoutName = config?.channels.first { if case .stdout = $0.spec { true } else { false } }?.name ?? "stdout"
        let fallback: AlertChannel
        do {
            fallback = try alerts.map { path throws(IOError) in try FileChannel(name: "alerts", path: path, append: false) } ?? StdoutChannel(name: stdoutName)
        } catch {
            throw Failure(message: "cannot write \(error)")
        }
        var channels: [AlertChannel] = [fallback]
        var webhooks: [WebhookChannel] = []
        for (name, spec) in config?.channels ?? [] {
            do {
                switch spec {
                case .stdout:
                    if !(fallback is StdoutChannel) { channels.append(StdoutChannel(name: name)) }
                case .file(let path, let rotate, let keep):
                    channels.append(try FileChannel(name: name, path: path, rotateBytes: rotate, keep: keep, append: true))
                case .webhook(let w):
                    let hook = try WebhookChannel(name: name, spec: w, spoolDir: spool, retryCapMs: retryCapMs, deadLetter: dead)
                    webhooks.append(hook)
                    channels.append(hook)
                }
            } catch {
                throw Failure(message: "cannot open channel `\(name)`: \(error)")
            }
        }
        var routes = config?.routes ?? []
        if let url = webhook {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw Failure(message: "--webhook must be an http:// or https:// URL") }
            do {
                let hook = try WebhookChannel(name: "webhook", spec: .init(url: url), spoolDir: spool, retryCapMs: retryCapMs, deadLetter: dead)
                webhooks.append(hook)
                channels.append(hook)
            } catch {
                throw Failure(message: "cannot open the webhook spool: \(error)")
            }
            // Every alert goes to the webhook and to the default output.
            routes.append(DispatchConfig.Route(to: ["webhook", fallback.name]))
        }
        return AlertOutputs(dispatcher: Dispatcher(channels: channels, routes: routes, fallback: fallback), webhooks: webhooks, config: config)
    }
}

/// The alert dead-letter output, written from webhook workers under a lock.
final class DeadLetterBox: @unchecked Sendable {
    let out: LineWriter
    let lock = NSLock()

    init(_ out: LineWriter) { self.out = out }

    func write(_ line: String) {
        lock.lock()
        out.writeLine(line)
        out.flush()
        lock.unlock()
    }
}
extension DispatchAlert.Matched: ExpressibleByArgument {}
