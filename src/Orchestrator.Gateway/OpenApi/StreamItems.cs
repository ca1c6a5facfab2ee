using System.ComponentModel;
using System.Text.Json;

namespace Orchestrator.Gateway.OpenApi;

// The streaming endpoints write their JSON with Utf8JsonWriter (ExecStreamWriter, RunEventWriter, the buffered
// exec answer); these records describe those shapes to the OpenAPI document. Nothing serializes them.

/// <summary>A piece of a command's output: one NDJSON line, or the data of an SSE <c>stdout</c>/<c>stderr</c> event.</summary>
public sealed record ExecOutputEvent(
    [property: Description("'stdout' or 'stderr'.")]
    string Stream,
    [property: Description("The piece as text, when it is valid UTF-8.")]
    string? Data = null,
    [property: Description("The piece's bytes, base64-encoded, when they are not valid UTF-8.")]
    byte[]? DataBase64 = null);

/// <summary>How a command ended: the last NDJSON line, or the data of the SSE <c>exit</c> event.</summary>
public sealed record ExecExitEvent(
    [property: Description("The exit code; null when the command was killed by a signal or timed out.")]
    int? ExitCode,
    [property: Description("The signal that ended the command, if any.")]
    string? Signal,
    [property: Description("Whether the command ran past timeout_seconds and was killed.")]
    bool TimedOut,
    [property: Description("Whether the command was cancelled (the client went away).")]
    bool Cancelled,
    [property: Description("How long the command ran, in milliseconds.")]
    long DurationMs,
    [property: Description("Bytes the command wrote to standard output.")]
    long StdoutBytes,
    [property: Description("Bytes the command wrote to standard error.")]
    long StderrBytes);

/// <summary>The buffered (<c>Accept: application/json</c>) answer of an exec: the exit and the output, capped.</summary>
public sealed record ExecResultResponse(
    [property: Description("The exit code; null when the command was killed by a signal or timed out.")]
    int? ExitCode,
    [property: Description("The signal that ended the command, if any.")]
    string? Signal,
    [property: Description("Whether the command ran past timeout_seconds and was killed.")]
    bool TimedOut,
    [property: Description("Whether the command was cancelled.")]
    bool Cancelled,
    [property: Description("How long the command ran, in milliseconds.")]
    long DurationMs,
    [property: Description("Standard output as text; null when it is not valid UTF-8 (see stdout_base64).")]
    string? Stdout,
    [property: Description("Standard output's bytes, base64-encoded, when they are not valid UTF-8; else null.")]
    byte[]? StdoutBase64,
    [property: Description("Standard error as text; null when it is not valid UTF-8 (see stderr_base64).")]
    string? Stderr,
    [property: Description("Standard error's bytes, base64-encoded, when they are not valid UTF-8; else null.")]
    byte[]? StderrBase64,
    [property: Description("Bytes the command wrote to standard output (all of them, kept or not).")]
    long StdoutBytes,
    [property: Description("Bytes the command wrote to standard error (all of them, kept or not).")]
    long StderrBytes,
    [property: Description("Whether either stream was cut at max_output_bytes.")]
    bool Truncated,
    [property: Description("The cap applied to each stream.")]
    int MaxOutputBytes);

/// <summary>
/// The last line or event of a stream that failed after it started: the status line was already sent, so the
/// problem travels in the stream (SSE event <c>error</c>).
/// </summary>
public sealed record StreamErrorEvent(
    [property: Description("The problem, as in a problem details answer.")]
    StreamError Error);

/// <summary>A problem inside a stream: the fields of RFC 9457 problem details that apply.</summary>
public sealed record StreamError(
    [property: Description("A stable URI naming the kind of problem.")]
    string Type,
    [property: Description("A short summary of the kind of problem.")]
    string Title,
    [property: Description("What happened this time.")]
    string Detail);

/// <summary>One event of a run: an NDJSON line, or the data of an SSE event whose <c>id</c> is the sequence and whose <c>event</c> is the kind.</summary>
public sealed record RunEventItem(
    [property: Description("The event's position in the run, from 1; resume after it with Last-Event-ID or ?after=.")]
    long Sequence,
    [property: Description("When the event happened.")]
    DateTimeOffset At,
    [property: Description("What happened, one of run.started, run.completed, run.failed, run.cancelled, run.signalled, run.resumed, step.started, step.output, step.retried, step.completed, step.failed, step.skipped.")]
    string Kind,
    [property: Description("The step the event is about; null for run-level events.")]
    string? StepId,
    [property: Description("For step events, the step's attempt, from 1.")]
    int Attempt,
    [property: Description("The event's details, a JSON value that depends on the kind.")]
    JsonElement Data);
