using System.Diagnostics;

namespace Orchestrator.Telemetry;

/// <summary>
/// The name of Orchestrator's <see cref="ActivitySource"/> and <see cref="System.Diagnostics.Metrics.Meter"/>, the
/// source itself, and the names of its spans. Spans cost nothing until a listener (an OpenTelemetry tracer
/// provider, a test's <see cref="ActivityListener"/>) subscribes to <see cref="Name"/>.
/// </summary>
public static class OrchestratorTelemetry
{
    public const string Name = "Orchestrator";

    /// <summary>Span around one Fly Machines API call (all its attempts); the HttpClient's spans are its children.</summary>
    public const string FlyCallSpan = "fly.call";

    /// <summary>Span around one command run over SSH on an instance, from the channel opening to the exit status.</summary>
    public const string SshExecSpan = "ssh.exec";

    // Static readonly is the .NET convention for an ActivitySource: it holds no state of ours, only listeners.
    public static readonly ActivitySource Source = new(Name, typeof(OrchestratorTelemetry).Assembly.GetName().Version?.ToString());
}
