using System.Text.Json;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>Reads the bodies of the session endpoints, naming the first field that is wrong.</summary>
internal static class SessionRequestParser
{
    private static readonly HashSet<string> CreateFields = ["name", "command", "cwd", "env", "cols", "rows"];
    private static readonly HashSet<string> RenameFields = ["name"];
    private static readonly HashSet<string> InputFields = ["text", "keys"];

    internal static (TerminalSessionSpec? Spec, (string Field, string Problem)? Problem) ParseCreate(JsonElement body)
    {
        if (Shape(body, CreateFields) is { } shape)
        {
            return (null, shape);
        }

        if (!TryString(body, "name", out var name, out var problem)
            || !TryString(body, "command", out var command, out problem)
            || !TryString(body, "cwd", out var cwd, out problem)
            || !TryInt(body, "cols", TerminalSessionRules.DefaultColumns, out var columns, out problem)
            || !TryInt(body, "rows", TerminalSessionRules.DefaultRows, out var rows, out problem))
        {
            return (null, problem);
        }

        Dictionary<string, string>? env = null;
        if (body.TryGetProperty("env", out var envElement) && envElement.ValueKind != JsonValueKind.Null)
        {
            if (envElement.ValueKind != JsonValueKind.Object)
            {
                return (null, ("env", "must be an object of string values"));
            }

            env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var variable in envElement.EnumerateObject())
            {
                if (variable.Value.ValueKind != JsonValueKind.String)
                {
                    return (null, ($"env.{variable.Name}", "must be a string"));
                }

                env[variable.Name] = variable.Value.GetString()!;
            }
        }

        var spec = new TerminalSessionSpec(name, command, cwd, env, columns, rows);
        return TerminalSessionRules.Validate(spec) is [var first, ..] ? (null, first) : (spec, null);
    }

    internal static (string? Name, (string Field, string Problem)? Problem) ParseRename(JsonElement body)
    {
        if (Shape(body, RenameFields) is { } shape)
        {
            return (null, shape);
        }

        if (!TryString(body, "name", out var name, out var problem))
        {
            return (null, problem);
        }

        return name is null ? (null, ("name", "is required"))
            : TerminalSessionRules.ValidateName(name) is { } nameProblem ? (null, ("name", nameProblem))
            : (name, null);
    }

    internal static (TerminalInput? Input, (string Field, string Problem)? Problem) ParseInput(JsonElement body)
    {
        if (Shape(body, InputFields) is { } shape)
        {
            return (null, shape);
        }

        if (!TryString(body, "text", out var text, out var problem))
        {
            return (null, problem);
        }

        List<string>? keys = null;
        if (body.TryGetProperty("keys", out var keysElement) && keysElement.ValueKind != JsonValueKind.Null)
        {
            if (keysElement.ValueKind != JsonValueKind.Array)
            {
                return (null, ("keys", "must be an array of key names"));
            }

            keys = [];
            var index = 0;
            foreach (var key in keysElement.EnumerateArray())
            {
                if (key.ValueKind != JsonValueKind.String)
                {
                    return (null, ($"keys[{index}]", "must be a string"));
                }

                keys.Add(key.GetString()!);
                index++;
            }
        }

        var input = new TerminalInput(text, keys);
        return TerminalSessionRules.Validate(input) is { } inputProblem ? (null, inputProblem) : (input, null);
    }

    private static (string Field, string Problem)? Shape(JsonElement body, HashSet<string> known)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return ("body", "must be a JSON object");
        }

        foreach (var property in body.EnumerateObject())
        {
            if (!known.Contains(property.Name))
            {
                return (property.Name, "is not a known field");
            }
        }

        return null;
    }

    private static bool TryString(JsonElement body, string field, out string? value, out (string Field, string Problem)? problem)
    {
        (value, problem) = (null, null);
        if (!body.TryGetProperty(field, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            problem = (field, "must be a string");
            return false;
        }

        value = element.GetString();
        return true;
    }

    private static bool TryInt(JsonElement body, string field, int fallback, out int value, out (string Field, string Problem)? problem)
    {
        (value, problem) = (fallback, null);
        if (!body.TryGetProperty(field, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out value))
        {
            problem = (field, $"must be a whole number from {ExecCommandRules.MinColumns} to {ExecCommandRules.MaxColumns}");
            return false;
        }

        return true;
    }
}
