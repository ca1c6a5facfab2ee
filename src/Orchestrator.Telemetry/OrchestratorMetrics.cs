using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Orchestrator.Telemetry;

/// <summary>
/// Orchestrator's instruments on the <c>Orchestrator</c> meter. One per host, from the host's
/// <see cref="IMeterFactory"/>, so a test listening to one host does not count another's measurements.
/// Recording without a listener is a no-op check, cheap enough for every call.
/// </summary>
public sealed class OrchestratorMetrics
{
    public const string FlyCalls = "orchestrator.fly.calls";
    public const string FlyCallDuration = "orchestrator.fly.call.duration";
    public const string SshExecs = "orchestrator.ssh.execs";
    public const string SshExecDuration = "orchestrator.ssh.exec.duration";
    public const string RunDuration = "orchestrator.run.duration";
    public const string StepDuration = "orchestrator.step.duration";
    public const string RateLimitRejections = "orchestrator.rate_limit.rejections";

    private readonly Counter<long> _flyCalls;
    private readonly Histogram<double> _flyCallDuration;
    private readonly Counter<long> _sshExecs;
    private readonly Histogram<double> _sshExecDuration;
    private readonly Histogram<double> _runDuration;
    private readonly Histogram<double> _stepDuration;
    private readonly Counter<long> _rateLimitRejections;

    public OrchestratorMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(OrchestratorTelemetry.Name, typeof(OrchestratorMetrics).Assembly.GetName().Version?.ToString());
        _flyCalls = meter.CreateCounter<long>(FlyCalls, "{call}", "Fly Machines API calls, by category and outcome.");
        _flyCallDuration = meter.CreateHistogram<double>(FlyCallDuration, "s", "Duration of Fly Machines API calls, retries included.");
        _sshExecs = meter.CreateCounter<long>(SshExecs, "{command}", "Commands run over SSH, by exit status class.");
        _sshExecDuration = meter.CreateHistogram<double>(SshExecDuration, "s", "Duration of commands run over SSH.");
        _runDuration = meter.CreateHistogram<double>(RunDuration, "s", "Duration of workflow runs, from start to their end, by final status.");
        _stepDuration = meter.CreateHistogram<double>(StepDuration, "s", "Duration of workflow step attempts, by step type and status.");
        _rateLimitRejections = meter.CreateCounter<long>(RateLimitRejections, "{request}", "Requests refused by a rate limit policy.");
    }

    /// <summary>One Fly call ended. <paramref name="outcome"/> is <c>ok</c> or what went wrong (<c>not_found</c>, <c>rate_limited</c>, ...).</summary>
    public void FlyCallEnded(string category, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "category", category }, { "outcome", outcome } };
        _flyCalls.Add(1, tags);
        _flyCallDuration.Record(duration.TotalSeconds, tags);
    }

    /// <summary>One SSH command ended; <paramref name="status"/> is one of <see cref="SshExecStatuses"/>.</summary>
    public void SshExecEnded(string status, TimeSpan duration)
    {
        var tags = new TagList { { "status", status } };
        _sshExecs.Add(1, tags);
        _sshExecDuration.Record(duration.TotalSeconds, tags);
    }

    /// <summary>A workflow run reached a terminal status.</summary>
    public void RunEnded(string status, TimeSpan duration) =>
        _runDuration.Record(duration.TotalSeconds, new TagList { { "status", status } });

    /// <summary>A step attempt ended; <paramref name="uses"/> is the step type (a small fixed set).</summary>
    public void StepEnded(string uses, string status, TimeSpan duration) =>
        _stepDuration.Record(duration.TotalSeconds, new TagList { { "uses", uses }, { "status", status } });

    /// <summary>A request was refused by the rate limit <paramref name="policy"/>.</summary>
    public void RateLimitRejected(string policy) =>
        _rateLimitRejections.Add(1, new TagList { { "policy", policy } });
}

/// <summary>The <c>status</c> of an SSH exec, in spans and metrics: a small fixed set, never the exit code itself.</summary>
public static class SshExecStatuses
{
    public const string Success = "success";
    public const string Failure = "failure";
    public const string Signal = "signal";
    public const string TimedOut = "timed_out";
    public const string Cancelled = "cancelled";
    public const string Error = "error";

    /// <summary>Classifies an ended command: exit 0 is success, any other exit code a failure.</summary>
    public static string Classify(int? exitCode, string? signal, bool timedOut, bool cancelled) =>
        timedOut ? TimedOut
        : cancelled ? Cancelled
        : signal is not null ? Signal
        : exitCode == 0 ? Success
        : exitCode is null ? Error
        : Failure;
}
