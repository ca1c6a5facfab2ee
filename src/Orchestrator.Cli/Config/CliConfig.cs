using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Cli.Config;

/// <summary>A named server and the key to use with it.</summary>
public sealed record CliContext(string Url, string Key);

/// <summary>The file <c>$XDG_CONFIG_HOME/orch/config.json</c>: contexts and the current one.</summary>
public sealed record CliConfig(string? Current, Dictionary<string, CliContext> Contexts, bool DevNoticeShown)
{
    public static CliConfig Empty => new(null, new Dictionary<string, CliContext>(StringComparer.Ordinal), false);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(CliConfig))]
internal sealed partial class ConfigJson : JsonSerializerContext;

/// <summary>Reads and writes the config file; only its owner may read it (mode 0600), since it holds keys.</summary>
public sealed class ConfigStore(IReadOnlyDictionary<string, string?> environment)
{
    public string Path { get; } = System.IO.Path.Combine(ConfigHome(environment), "orch", "config.json");

    public CliConfig Load()
    {
        if (!File.Exists(Path))
        {
            return CliConfig.Empty;
        }

        try
        {
            var config = JsonSerializer.Deserialize(File.ReadAllText(Path), ConfigJson.Default.CliConfig) ?? CliConfig.Empty;
            return config with { Contexts = new Dictionary<string, CliContext>(config.Contexts ?? [], StringComparer.Ordinal) };
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.Usage, $"{Path} is not valid JSON ({ex.Message}); fix or remove it.");
        }
    }

    public void Save(CliConfig config)
    {
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(directory);
        var temporary = Path + ".tmp";
        // Created with 0600 before a byte is written, so the key is never readable by others, not even briefly.
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            JsonSerializer.Serialize(stream, config, ConfigJson.Default.CliConfig);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temporary, Path, overwrite: true);
    }

    private static string ConfigHome(IReadOnlyDictionary<string, string?> environment) =>
        environment.GetValueOrDefault("XDG_CONFIG_HOME") is { Length: > 0 } xdg ? xdg
        : System.IO.Path.Combine(environment.GetValueOrDefault("HOME") is { Length: > 0 } home ? home : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
}

/// <summary>Where a command connects: ORCH_URL/ORCH_KEY, else --context, else the current context, else the dev profile.</summary>
public sealed record Connection(Uri Url, string Key, string Source)
{
    public const string DevUrl = "http://127.0.0.1:8080";
    public const string DevKey = "dev-key";

    public static Connection Resolve(ConfigStore store, IReadOnlyDictionary<string, string?> environment, string? contextName, Action<string> notice)
    {
        var config = store.Load();
        CliContext? context = null;
        var name = contextName ?? config.Current;
        if (name is not null && !config.Contexts.TryGetValue(name, out context) && contextName is not null)
        {
            throw new CliException(ExitCodes.Usage, $"No context '{contextName}'; see 'orch context list'.");
        }

        var url = environment.GetValueOrDefault("ORCH_URL") is { Length: > 0 } envUrl ? envUrl : context?.Url;
        var key = environment.GetValueOrDefault("ORCH_KEY") is { Length: > 0 } envKey ? envKey : context?.Key;
        if (url is null && key is null)
        {
            if (!config.DevNoticeShown)
            {
                notice($"orch: no context configured; using the dev profile ({DevUrl}, key '{DevKey}'). Run 'orch login' to use another server.");
                try
                {
                    store.Save(config with { DevNoticeShown = true });
                }
                catch (IOException)
                {
                    // A read-only home only means the notice shows again.
                }
                catch (UnauthorizedAccessException)
                {
                    // As above.
                }
            }

            return new Connection(new Uri(DevUrl), DevKey, "dev");
        }

        url ??= DevUrl;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException(ExitCodes.Usage, $"'{url}' is not an http(s) URL.");
        }

        return new Connection(uri, key ?? DevKey, name ?? "environment");
    }
}
