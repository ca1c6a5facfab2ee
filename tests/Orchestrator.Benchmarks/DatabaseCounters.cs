using System.Globalization;
using Npgsql;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Counters of one database from PostgreSQL's cumulative statistics: commits, and rows written per table. Backends
/// publish their counts at most once a second while busy and at exit, so read them after the connections of the
/// system under test are closed (<see cref="ReadSettledAsync"/> waits until two reads agree).
/// </summary>
internal sealed record DatabaseCounters(long Commits, IReadOnlyDictionary<string, long> RowWrites)
{
    public long RowWritesOf(string table) => RowWrites.GetValueOrDefault(table);

    public long TotalRowWrites => RowWrites.Values.Sum();

    public static async Task<DatabaseCounters> ReadSettledAsync(string connectionString)
    {
        NpgsqlConnection.ClearAllPools();
        var last = await ReadAsync(connectionString);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250));
            var next = await ReadAsync(connectionString);
            // This reader's own transactions add commits: compare the row writes, which it never touches.
            if (next.TotalRowWrites == last.TotalRowWrites && attempt >= 1)
            {
                return next;
            }

            last = next;
        }

        return last;
    }

    private static async Task<DatabaseCounters> ReadAsync(string connectionString)
    {
        // A fresh, unpooled connection each time: pg_stat_* views are a snapshot per transaction.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        long commits;
        await using (var command = new NpgsqlCommand("select xact_commit from pg_stat_database where datname = current_database()", connection))
        {
            commits = Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }

        var writes = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand("select schemaname || '.' || relname, n_tup_ins + n_tup_upd + n_tup_del from pg_stat_user_tables", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                writes[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        return new DatabaseCounters(commits, writes);
    }
}

/// <summary>CPU time of a PostgreSQL server: the postmaster, its live backends, and the backends it has reaped.</summary>
internal sealed class PostgresCpu
{
    private const int ClockTicksPerSecond = 100; // USER_HZ, the unit of /proc/{pid}/stat times
    private readonly int _postmaster;

    private PostgresCpu(int postmaster) => _postmaster = postmaster;

    /// <summary>Finds the server behind <paramref name="connectionString"/> through a backend's parent process.</summary>
    public static async Task<PostgresCpu?> FindAsync(string connectionString)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select pg_backend_pid()", connection);
        var backend = Convert.ToInt32(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        return Stat(backend) is { } stat ? new PostgresCpu(stat.ParentPid) : null;
    }

    public TimeSpan CpuTime()
    {
        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Stat(pid) is { } stat)
            {
                if (pid == _postmaster)
                {
                    ticks += stat.Own + stat.Reaped;
                }
                else if (stat.ParentPid == _postmaster)
                {
                    ticks += stat.Own;
                }
            }
        }

        return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
    }

    private static (int ParentPid, long Own, long Reaped)? Stat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null; // ended meanwhile
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // Fields after the command name (which may hold spaces, hence the last ')'): state ppid ... utime(14) stime cutime cstime.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        return ((int)Field(4), Field(14) + Field(15), Field(16) + Field(17));
    }
}
