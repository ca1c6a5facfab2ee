using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Orchestrator.Testing;

/// <summary>
/// A throwaway PostgreSQL server started from the local <c>initdb</c>/<c>pg_ctl</c> binaries on a free
/// loopback port, or an existing server named by <c>ORCH_TEST_POSTGRES</c>. One server serves a whole test
/// process; every test class gets its own database from it (see <see cref="PostgresDatabaseFixture"/>).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string ExistingServerVariable = "ORCH_TEST_POSTGRES";

    private const string OwnerFileName = "orchestrator-test-owner.pid";
    private const string DirectoryPrefix = "orch-pg-";

    // One server per test process: starting PostgreSQL costs about a second, a database a few ms.
    private static readonly Lazy<Task<PostgresServer>> ProcessServer = new(StartForProcessAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string? _dataDirectory;
    private readonly string? _binDirectory;

    private PostgresServer(string adminConnectionString, string? dataDirectory, string? binDirectory)
    {
        AdminConnectionString = adminConnectionString;
        _dataDirectory = dataDirectory;
        _binDirectory = binDirectory;
    }

    /// <summary>Connection string to the <c>postgres</c> maintenance database as a superuser.</summary>
    public string AdminConnectionString { get; }

    /// <summary>The server shared by every test class of this process; started on first use, stopped at exit.</summary>
    public static Task<PostgresServer> SharedAsync() => ProcessServer.Value;

    /// <summary>
    /// A server of the caller's own (disposed by it) that commits durably, as production does: fsync,
    /// synchronous_commit and full_page_writes on. Benchmarks use it; tests share the faster, non-durable one.
    /// </summary>
    public static async Task<PostgresServer> StartDurableAsync()
    {
        var existing = Environment.GetEnvironmentVariable(ExistingServerVariable);
        if (!string.IsNullOrWhiteSpace(existing))
        {
            return new PostgresServer(existing, dataDirectory: null, binDirectory: null);
        }

        ReapStaleServers();
        return await StartLocalAsync(durable: true);
    }

    /// <summary>Creates an empty database and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string? prefix = null)
    {
        var name = $"{prefix ?? "t"}_{Guid.NewGuid():N}".ToLowerInvariant();
        name = name[..Math.Min(name.Length, 63)]; // PostgreSQL's identifier limit
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, closing whatever still uses it.</summary>
    public async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database
            ?? throw new ArgumentException("The connection string names no database.", nameof(connectionString));
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataDirectory is null || _binDirectory is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await ToolProcess.RunCheckedAsync(Path.Combine(_binDirectory, "pg_ctl"), ["-D", _dataDirectory, "-m", "immediate", "-w", "stop"], TimeSpan.FromSeconds(30), runAs: IsRoot ? "postgres" : null);
        TryDeleteDirectory(Path.GetDirectoryName(_dataDirectory)!);
    }

    private static async Task<PostgresServer> StartForProcessAsync()
    {
        var existing = Environment.GetEnvironmentVariable(ExistingServerVariable);
        if (!string.IsNullOrWhiteSpace(existing))
        {
            return new PostgresServer(existing, dataDirectory: null, binDirectory: null);
        }

        ReapStaleServers();
        var server = await StartLocalAsync(durable: false);
        // Test runners end the process after the last test; the server must not outlive it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    }

    private static async Task<PostgresServer> StartLocalAsync(bool durable)
    {
        var bin = FindBinDirectory();
        var root = Directory.CreateTempSubdirectory(DirectoryPrefix).FullName;
        var data = Path.Combine(root, "data");
        var sockets = Path.Combine(root, "sock");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(sockets);
        await File.WriteAllTextAsync(Path.Combine(root, OwnerFileName), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var runAs = IsRoot ? "postgres" : null;
        if (runAs is not null)
        {
            await ToolProcess.RunCheckedAsync("chown", ["-R", "postgres:postgres", root], TimeSpan.FromSeconds(10));
        }

        await ToolProcess.RunCheckedAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"], TimeSpan.FromSeconds(60), runAs: runAs);

        // Another process may take the port between probing and binding: try a few ports.
        for (var attempt = 1; ; attempt++)
        {
            var port = LoopbackPort.Free();
            var commits = durable ? "-c fsync=on -c synchronous_commit=on -c full_page_writes=on" : "-c fsync=off -c synchronous_commit=off -c full_page_writes=off";
            var options = $"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 {commits} -c max_connections=300";
            var start = await ToolProcess.RunAsync(
                Path.Combine(bin, "pg_ctl"),
                ["-D", data, "-o", options, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "start"],
                TimeSpan.FromSeconds(90),
                runAs: runAs);
            if (start.ExitCode == 0)
            {
                var admin = new NpgsqlConnectionStringBuilder
                {
                    Host = "127.0.0.1",
                    Port = port,
                    Username = "postgres",
                    Database = "postgres",
                    Pooling = true,
                    MaxPoolSize = 20,
                }.ConnectionString;
                return new PostgresServer(admin, data, bin);
            }

            if (attempt == 3)
            {
                var log = File.Exists(Path.Combine(root, "server.log")) ? await File.ReadAllTextAsync(Path.Combine(root, "server.log")) : "";
                throw new InvalidOperationException($"PostgreSQL did not start (pg_ctl exit {start.ExitCode}): {start.Output}\n{log}");
            }
        }
    }

    private static bool IsRoot => Environment.UserName == "root";

    private static string FindBinDirectory()
    {
        var candidates = new List<string>();
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            candidates.Add(dir);
        }

        if (Directory.Exists("/usr/lib/postgresql"))
        {
            candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(v => Path.Combine(v, "bin")));
        }

        foreach (var dir in candidates)
        {
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                // Resolve links so that initdb finds its sibling postgres binary.
                var initdb = new FileInfo(Path.Combine(dir, "initdb"));
                var target = initdb.LinkTarget is null ? initdb.FullName : Path.GetFullPath(initdb.LinkTarget, dir);
                return Path.GetDirectoryName(target)!;
            }
        }

        throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under /usr/lib/postgresql/*/bin. " +
            "Install them with `apt-get install postgresql`, or set ORCH_TEST_POSTGRES to a connection string of an existing server.");
    }

    /// <summary>Stops servers left behind by test processes that died before they could stop them.</summary>
    private static void ReapStaleServers()
    {
        foreach (var root in Directory.GetDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            var ownerFile = Path.Combine(root, OwnerFileName);
            if (!File.Exists(ownerFile) || !int.TryParse(File.ReadAllText(ownerFile), CultureInfo.InvariantCulture, out var owner) || IsAlive(owner))
            {
                continue;
            }

            var pidFile = Path.Combine(root, "data", "postmaster.pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), CultureInfo.InvariantCulture, out var postmaster) && IsAlive(postmaster))
            {
                try
                {
                    using var process = Process.GetProcessById(postmaster);
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                }
                catch (ArgumentException)
                {
                    // Exited between the check and the kill: nothing left to stop.
                }
            }

            TryDeleteDirectory(root);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open: the next run's reaper removes the directory.
        }
        catch (UnauthorizedAccessException)
        {
            // Likewise.
        }
    }
}
