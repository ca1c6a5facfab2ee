using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Grains.Sessions;
using Orchestrator.Workflows;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary><c>ssh.exec</c>: the command through the instance's SSH session, its output streamed to the run's events and captured within bounds.</summary>
internal sealed partial class StepExecutor
{
    private async Task<JsonObject> ExecAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var instance = with.GetString("instance");
        var command = with.GetOptionalString("command") ?? with.GetString("script");
        var env = new Dictionary<string, string>(with.GetOptionalStringMap("env") ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [IdempotencyVariable] = attempt.IdempotencyKey,
            [RunIdVariable] = attempt.Run.RunId,
        };
        var accepted = with.GetOptionalIntegers("accepted_exit_codes")?.ToHashSet() ?? [0];

        var session = attempt.Run.Grains.GetGrain<ISshSessionGrain>(SshSessionKey.Format(attempt.Run.Tenant, instance, SshSessionKey.ExecSession));
        var stdout = new CappedText(Options.MaxCapturedOutputBytes);
        var stderr = new CappedText(Options.MaxCapturedOutputBytes);
        var stdoutDecoder = Encoding.UTF8.GetDecoder();
        var stderrDecoder = Encoding.UTF8.GetDecoder();
        // A secret may be cut between two chunks: each stream's redactor holds back what could be the start of one.
        var stdoutRedactor = attempt.Run.CreateOutputRedactor();
        var stderrRedactor = attempt.Run.CreateOutputRedactor();
        // Kept from the masked stream: a tail of the raw one could start in the middle of a secret, unmaskable.
        var stderrTail = new TextTail();
        ExecExit? exit = null;
        try
        {
            await foreach (var item in session.ExecAsync(new ExecCommand(command, env, with.GetOptionalString("cwd"), with.GetOptionalDuration("timeout")), cancellationToken).WithCancellation(cancellationToken))
            {
                switch (item.Kind)
                {
                    case ExecEventKind.Stdout or ExecEventKind.Stderr:
                        var isOut = item.Kind == ExecEventKind.Stdout;
                        var text = Decode(isOut ? stdoutDecoder : stderrDecoder, item.Data!);
                        (isOut ? stdout : stderr).Append(text);
                        await EmitAsync(isOut ? "stdout" : "stderr", (isOut ? stdoutRedactor : stderrRedactor).Push(text));
                        break;
                    case ExecEventKind.Exited:
                        exit = item.Exit;
                        break;
                }
            }
        }
        finally
        {
            // Also when the command failed or was cancelled: the events keep all of the output that arrived.
            await EmitAsync("stdout", stdoutRedactor.Flush());
            await EmitAsync("stderr", stderrRedactor.Flush());
        }

        async Task EmitAsync(string stream, string masked)
        {
            if (masked.Length > 0)
            {
                if (stream == "stderr")
                {
                    stderrTail.Append(masked);
                }

                await attempt.Run.EmitOutputAsync(attempt.Step, attempt.State.Attempt, stream, masked);
            }
        }

        if (exit is null)
        {
            throw new InvalidOperationException("the command ended without an exit status");
        }

        if (exit.TimedOut)
        {
            throw new TimeoutException($"the command timed out after {exit.Duration.TotalSeconds:0.#} s and was killed");
        }

        if (exit.ExitCode is not { } code || !accepted.Contains(code))
        {
            var tail = stderrTail.ToString();
            throw new InvalidOperationException(exit.ExitCode is { } c
                ? $"the command exited with {c}{(tail.Length > 0 ? ": " + tail : "")}"
                : $"the command was killed by signal {exit.Signal}");
        }

        var (stdoutText, stderrText) = (stdout.ToString(), stderr.ToString());
        // Captures read all the output held in memory; the stdout and stderr outputs, which the run's checkpoint
        // carries on every transition, keep only their head. All of the output is in the run's events. Masked before
        // the cut: a cut through a secret would leave a start of it that masking no longer recognises.
        var (stdoutHead, stdoutCut) = OutputHead(attempt.Run.Redact(stdoutText), stdout.Truncated, Options.MaxStepOutputBytes);
        var (stderrHead, stderrCut) = OutputHead(attempt.Run.Redact(stderrText), stderr.Truncated, Options.MaxStepOutputBytes);
        return CapturedOutputs(
            attempt,
            new Dictionary<OutputSource, string> { [OutputSource.Stdout] = stdoutText, [OutputSource.Stderr] = stderrText },
            new Dictionary<string, WorkflowValue>
            {
                ["exit_code"] = WorkflowValue.From(code),
                ["stdout"] = WorkflowValue.From(stdoutHead),
                ["stdout_truncated"] = WorkflowValue.From(stdoutCut),
                ["stderr"] = WorkflowValue.From(stderrHead),
                ["stderr_truncated"] = WorkflowValue.From(stderrCut),
            });
    }

    /// <summary>
    /// The built-in outputs and the step's captures. Captures read all of their source, but what they keep goes into
    /// the run's checkpoint, written on every transition: each keeps at most <see cref="WorkflowOptions.MaxStepOutputBytes"/>,
    /// with <c>&lt;name&gt;_truncated</c> saying whether it was cut.
    /// </summary>
    private JsonObject CapturedOutputs(StepAttempt attempt, IReadOnlyDictionary<OutputSource, string> sources, IReadOnlyDictionary<string, WorkflowValue> builtIn)
    {
        var values = OutputCapturer.CaptureAll(attempt.Step, sources, builtIn);
        var outputs = Outputs(values);
        foreach (var name in attempt.Step.Outputs.Keys)
        {
            var (kept, truncated) = BoundCapture(values[name], attempt.Run.Redact, Options.MaxStepOutputBytes);
            outputs[name] = kept;
            outputs[StepTypes.TruncatedOutput(name)] = truncated;
        }

        return outputs;
    }

    /// <summary>
    /// What a capture keeps of its value: a text keeps its first <paramref name="maxBytes"/> bytes of UTF-8; a list or
    /// mapping (a JSON capture) whose JSON is longer cannot be cut into something meaningful and is kept as null.
    /// Masked before it is measured: a cut through a secret would leave a start of it that masking no longer recognises.
    /// </summary>
    internal static (JsonNode? Kept, bool Truncated) BoundCapture(WorkflowValue value, Func<string, string> redact, int maxBytes)
    {
        switch (value)
        {
            case StringValue text:
                var (head, cut) = OutputHead(redact(text.Value), alreadyTruncated: false, maxBytes);
                return (JsonValue.Create(head), cut);
            case ListValue or MapValue:
                var node = value.ToJsonNode();
                var json = redact(node!.ToJsonString());
                return json.Length <= maxBytes / 3 || Encoding.UTF8.GetByteCount(json) <= maxBytes ? (node, false) : (null, true);
            default:
                return (value.ToJsonNode(), false);
        }
    }

    /// <summary>
    /// The longest start of <paramref name="text"/> that is at most <paramref name="maxBytes"/> bytes of UTF-8, never
    /// ending in half of a surrogate pair, and whether anything of the stream was left out.
    /// </summary>
    internal static (string Head, bool Truncated) OutputHead(string text, bool alreadyTruncated, int maxBytes)
    {
        // Three bytes per UTF-16 character at most: shorter text cannot be over the limit.
        if (text.Length <= maxBytes / 3 || Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return (text, alreadyTruncated);
        }

        var bytes = 0;
        var end = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > maxBytes)
            {
                break;
            }

            bytes += rune.Utf8SequenceLength;
            end += rune.Utf16SequenceLength;
        }

        return (text[..end], true);
    }

    private static string Decode(Decoder decoder, ReadOnlySpan<byte> data)
    {
        var chars = new char[decoder.GetCharCount(data, flush: false)];
        var count = decoder.GetChars(data, chars, flush: false);
        return new string(chars, 0, count);
    }

    /// <summary>Keeps the first <c>cap</c> characters of a stream for outputs and captures.</summary>
    private sealed class CappedText(int cap)
    {
        private readonly StringBuilder _text = new();

        /// <summary>Whether some of the text appended did not fit.</summary>
        public bool Truncated { get; private set; }

        public void Append(string text)
        {
            var room = cap - _text.Length;
            if (room > 0)
            {
                _text.Append(text.AsSpan(0, Math.Min(room, text.Length)));
            }

            Truncated |= text.Length > Math.Max(room, 0);
        }

        public override string ToString() => _text.ToString();
    }

    /// <summary>The last <see cref="Kept"/> characters of a stream, however long it grows: what an error quotes of its end.</summary>
    internal sealed class TextTail
    {
        public const int Kept = 400;

        private readonly StringBuilder _tail = new();

        public void Append(string text)
        {
            _tail.Append(text.Length > Kept ? text.AsSpan(text.Length - Kept) : text);
            // Trimmed only when it has grown to twice its size, so appending stays linear in the stream.
            if (_tail.Length >= 2 * Kept)
            {
                _tail.Remove(0, _tail.Length - Kept);
            }
        }

        /// <summary>The last characters, at most <see cref="Kept"/>, trimmed; never half of a surrogate pair.</summary>
        public override string ToString()
        {
            var start = Math.Max(0, _tail.Length - Kept);
            if (start < _tail.Length && char.IsLowSurrogate(_tail[start]))
            {
                start++;
            }

            return _tail.ToString(start, _tail.Length - start).Trim();
        }
    }
}
