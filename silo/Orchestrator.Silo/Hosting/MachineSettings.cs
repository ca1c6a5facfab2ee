using System.Security.Cryptography;
using Orchestrator.Fly;
using Orchestrator.Grains.Sessions;
using Orchestrator.Hosting;
using Orchestrator.Ssh;

namespace Orchestrator.Silo.Hosting;

/// <summary>Which Machines API the silo drives.</summary>
public enum MachineBackend
{
    /// <summary>The Fly emulator, started inside the silo process and stopped with it.</summary>
    EmbeddedEmulator,

    /// <summary>The API at <c>Fly:BaseAddress</c> (Fly itself unless pointed elsewhere), with <c>FLY_API_TOKEN</c>.</summary>
    Fly,
}

/// <summary>
/// Where instance machines come from and how their private keys are encrypted at rest; resolved before the host
/// is built so that a missing key or token setting stops the process with one line.
/// </summary>
public sealed record MachineSettings(MachineBackend Backend, string AppName, Uri? EmulatorUrl, byte[] EncryptionKey, string EncryptionKeySource, string DataDirectory)
{
    public const string EncryptionKeyKey = "Orchestrator:Secrets:EncryptionKey";
    public const string DataDirectoryKey = "Orchestrator:DataDirectory";
    public const string FlyAppNameKey = FlyOptions.SectionName + ":AppName";
    public const string FlyApiTokenKey = FlyOptions.SectionName + ":ApiToken";
    public const string DefaultAppName = "orchestrator-dev";
    public const string EncryptionKeyFileName = "encryption.key";

    /// <summary>Reads the settings; in the dev profile it creates the encryption key file when there is none.</summary>
    public static MachineSettings Read(IConfiguration configuration, SiloProfile profile)
    {
        var problems = new List<ConfigurationProblem>();
        var dataDirectory = configuration[DataDirectoryKey] is { Length: > 0 } configured ? configured : DefaultDataDirectory();
        if (!Path.IsPathFullyQualified(dataDirectory))
        {
            problems.Add(new(DataDirectoryKey, $"must be an absolute path (got '{dataDirectory}')"));
        }

        byte[]? key = null;
        var keySource = EncryptionKeyKey;
        if (configuration[EncryptionKeyKey] is { Length: > 0 } encoded)
        {
            key = ParseKey(encoded, problems);
        }
        else if (profile == SiloProfile.Dev && problems.Count == 0)
        {
            keySource = Path.Combine(dataDirectory, EncryptionKeyFileName);
            key = LoadOrCreateDevKey(keySource);
        }
        else
        {
            problems.Add(new(EncryptionKeyKey, $"is required for the {profile.ToString().ToLowerInvariant()} profile: 32 random bytes in base64 (e.g. `openssl rand -base64 32`), which encrypt instance SSH keys at rest"));
        }

        var token = configuration[FlyApiTokenKey] is { Length: > 0 } t ? t : configuration[FlyOptions.ApiTokenVariable];
        var backend = profile != SiloProfile.Dev && !string.IsNullOrEmpty(token) ? MachineBackend.Fly : MachineBackend.EmbeddedEmulator;
        var appName = configuration[FlyAppNameKey];
        if (profile == SiloProfile.Fly && backend != MachineBackend.Fly)
        {
            // A deployed cluster quietly making machines in an in-process emulator would lose them at the next restart.
            problems.Add(new(FlyOptions.ApiTokenVariable, "is required for the fly profile: silos on Fly create machines through the Fly Machines API (e.g. `fly tokens create org`)"));
        }

        if (backend == MachineBackend.Fly && string.IsNullOrEmpty(appName))
        {
            problems.Add(new(FlyAppNameKey, $"is required when {FlyOptions.ApiTokenVariable} is set (set Fly__AppName, and Fly__OrgSlug for a new app)"));
        }

        ReadSshSettings(configuration, problems);
        if (problems.Count > 0)
        {
            throw StartupFailureException.FromProblems(problems);
        }

        var emulatorUrl = backend == MachineBackend.EmbeddedEmulator ? new Uri($"http://127.0.0.1:{LoopbackPorts.Reserve()}/") : null;
        return new MachineSettings(backend, appName ?? DefaultAppName, emulatorUrl, key!, keySource, dataDirectory);
    }

    /// <summary>The SSH settings are checked here, with the others, so that a bad one is named on the one error line.</summary>
    private static void ReadSshSettings(IConfiguration configuration, List<ConfigurationProblem> problems)
    {
        var section = configuration.GetSection(SshSessionOptions.SectionName);
        var session = new SshSessionOptions();
        var pool = new SshPoolOptions();
        try
        {
            section.Bind(session);
            section.Bind(pool);
        }
        catch (InvalidOperationException ex)
        {
            problems.Add(new(SshSessionOptions.SectionName, $"has a value of the wrong type ({ex.InnerException?.Message ?? ex.Message})"));
            return;
        }

        problems.AddRange(session.Validate(pool).Select(p => new ConfigurationProblem(p.Key, p.Problem)));
    }

    /// <summary>$XDG_DATA_HOME/orchestrator, else ~/.local/share/orchestrator: never a directory of the repository.</summary>
    private static string DefaultDataDirectory()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrEmpty(xdg) || !Path.IsPathFullyQualified(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(root, "orchestrator");
    }

    private static byte[]? ParseKey(string encoded, List<ConfigurationProblem> problems)
    {
        var buffer = new byte[64];
        if (!Convert.TryFromBase64String(encoded.Trim(), buffer, out var length) || length != 32)
        {
            problems.Add(new(EncryptionKeyKey, "must be exactly 32 bytes in base64 (e.g. `openssl rand -base64 32`)"));
            return null;
        }

        return buffer[..32];
    }

    private static byte[] LoadOrCreateDevKey(string path)
    {
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            var problems = new List<ConfigurationProblem>();
            return ParseKey(existing, problems) ?? throw new StartupFailureException($"configuration error: the dev encryption key file {path} is not 32 bytes in base64; remove it to have a new one made (instances encrypted with it become unusable)");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var key = RandomNumberGenerator.GetBytes(32);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(path, options))
        {
            writer.WriteLine(Convert.ToBase64String(key));
        }

        return key;
    }
}
