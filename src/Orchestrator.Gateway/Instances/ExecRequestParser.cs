using System.Globalization;
using System.Text.Json;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// Reads the body of <c>POST /api/instances/{id}/exec</c> into the command to run and the buffered answer's output cap,
/// naming the first field that is wrong.
/// </summary>
internal static class ExecRequestParser
{
    public const int DefaultBufferedOutputCap = 1024 * 1024;
    public const int MaxBufferedOutputCap = 16 * 1024 * 1024;

    private static readonly HashSet<string> Known = ["command", "env", "cwd", "timeout_seconds", "stdin", "stdin_base64", "max_output_bytes"];
    private static readonly HashSet<string> KnownQuery = new(["command", "env", "cwd", "timeout_seconds"], StringComparer.OrdinalIgnoreCase);

    internal static (ExecCommand? Command, int Cap, (string Field, string Problem)? Problem) Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, 0, ("body", "must be a JSON object"));
        }

        foreach (var property in body.EnumerateObject())
        {
            if (!Known.Contains(property.Name))
            {
                return (null, 0, (property.Name, "is not a known field"));
            }
        }

        if (!body.TryGetProperty("command", out var commandElement) || commandElement.ValueKind != JsonValueKind.String)
        {
            return (null, 0, ("command", "is required and must be a string"));
        }

        Dictionary<string, string>? env = null;
        if (body.TryGetProperty("env", out var envElement) && envElement.ValueKind != JsonValueKind.Null)
        {
            if (envElement.ValueKind != JsonValueKind.Object)
            {
                return (null, 0, ("env", "must be an object of string values"));
            }

            env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var variable in envElement.EnumerateObject())
            {
                if (variable.Value.ValueKind != JsonValueKind.String)
                {
                    return (null, 0, ($"env.{variable.Name}", "must be a string"));
                }

                env[variable.Name] = variable.Value.GetString()!;
            }
        }

        string? cwd = null;
        if (body.TryGetProperty("cwd", out var cwdElement) && cwdElement.ValueKind != JsonValueKind.Null)
        {
            if (cwdElement.ValueKind != JsonValueKind.String)
            {
                return (null, 0, ("cwd", "must be a string"));
            }

            cwd = cwdElement.GetString();
        }

        TimeSpan? timeout = null;
        if (body.TryGetProperty("timeout_seconds", out var timeoutElement) && timeoutElement.ValueKind != JsonValueKind.Null)
        {
            if (timeoutElement.ValueKind != JsonValueKind.Number || !timeoutElement.TryGetDouble(out var seconds) || double.IsNaN(seconds)
                || seconds <= 0 || seconds > ExecCommandRules.MaxTimeout.TotalSeconds)
            {
                return (null, 0, ("timeout_seconds", $"must be a number more than 0 and at most {ExecCommandRules.MaxTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}"));
            }

            timeout = TimeSpan.FromSeconds(seconds);
        }

        byte[]? stdin = null;
        var hasText = body.TryGetProperty("stdin", out var stdinElement) && stdinElement.ValueKind != JsonValueKind.Null;
        var hasBase64 = body.TryGetProperty("stdin_base64", out var stdinBase64) && stdinBase64.ValueKind != JsonValueKind.Null;
        if (hasText && hasBase64)
        {
            return (null, 0, ("stdin", "and stdin_base64 cannot both be given"));
        }

        if (hasText)
        {
            if (stdinElement.ValueKind != JsonValueKind.String)
            {
                return (null, 0, ("stdin", "must be a string"));
            }

            stdin = System.Text.Encoding.UTF8.GetBytes(stdinElement.GetString()!);
        }
        else if (hasBase64)
        {
            if (stdinBase64.ValueKind != JsonValueKind.String || !stdinBase64.TryGetBytesFromBase64(out stdin))
            {
                return (null, 0, ("stdin_base64", "must be a base64 string"));
            }
        }

        var cap = DefaultBufferedOutputCap;
        if (body.TryGetProperty("max_output_bytes", out var capElement) && capElement.ValueKind != JsonValueKind.Null
            && (capElement.ValueKind != JsonValueKind.Number || !capElement.TryGetInt32(out cap) || cap is < 1 or > MaxBufferedOutputCap))
        {
            return (null, 0, ("max_output_bytes", $"must be a whole number from 1 to {MaxBufferedOutputCap}"));
        }

        var command = new ExecCommand(commandElement.GetString()!, env, cwd, timeout, stdin);
        return ExecCommandRules.Validate(command) is [var first, ..] ? (null, 0, first) : (command, cap, null);
    }

    /// <summary>
    /// Reads the query of <c>GET /api/instances/{id}/exec/ws</c>, whose stdin is streamed over the socket: the same
    /// fields as the JSON body, <c>env</c> repeated as <c>NAME=VALUE</c>.
    /// </summary>
    internal static (ExecCommand? Command, (string Field, string Problem)? Problem) ParseQuery(IQueryCollection query, Guid stdinStream)
    {
        foreach (var (name, _) in query)
        {
            if (!KnownQuery.Contains(name))
            {
                return (null, (name, "is not a known parameter"));
            }
        }

        foreach (var single in (string[])["command", "cwd", "timeout_seconds"])
        {
            if (query[single].Count > 1)
            {
                return (null, (single, "must be given once"));
            }
        }

        if (query["command"] is not [{ } text])
        {
            return (null, ("command", "is required"));
        }

        Dictionary<string, string>? env = null;
        foreach (var pair in query["env"])
        {
            var equals = pair?.IndexOf('=', StringComparison.Ordinal) ?? -1;
            if (equals <= 0)
            {
                return (null, ("env", "must be NAME=VALUE"));
            }

            env ??= new Dictionary<string, string>(StringComparer.Ordinal);
            env[pair![..equals]] = pair[(equals + 1)..];
        }

        var cwd = query["cwd"] is [{ } directory] ? directory : null;
        TimeSpan? timeout = null;
        if (query["timeout_seconds"] is [{ } seconds])
        {
            if (!double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value)
                || value <= 0 || value > ExecCommandRules.MaxTimeout.TotalSeconds)
            {
                return (null, ("timeout_seconds", $"must be a number more than 0 and at most {ExecCommandRules.MaxTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}"));
            }

            timeout = TimeSpan.FromSeconds(value);
        }

        var command = new ExecCommand(text, env, cwd, timeout, StdinStream: stdinStream);
        return ExecCommandRules.Validate(command) is [var first, ..] ? (null, first) : (command, null);
    }
}
