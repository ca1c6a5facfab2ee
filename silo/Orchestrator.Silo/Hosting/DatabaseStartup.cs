using System.Net.Sockets;
using Npgsql;
using Orchestrator.Database;
using Orchestrator.Hosting;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// Brings the database schema up to date before the silo joins the cluster: Orleans' ADO.NET
/// providers read their queries from it at start. Waits for PostgreSQL to come up (containers start
/// in any order), but gives up at once on answers that waiting cannot change.
/// </summary>
internal sealed partial class DatabaseStartup(SiloSettings settings, SchemaMigrator migrator, TimeProvider time, ILogger<DatabaseStartup> logger)
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    public async Task<MigrationResult> MigrateAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var endpoint = Describe(settings.Cluster.ConnectionString!);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await migrator.MigrateAsync(cancellationToken);
                var elapsed = time.GetElapsedTime(started);
                LogSchemaReady(result.ToVersion, result.Applied.Count, elapsed);
                return result;
            }
            catch (SchemaVersionException ex)
            {
                throw new StartupFailureException(StartupFailureKind.Database, $"database error: {ex.Message}", ex);
            }
            catch (PostgresException ex) when (!ex.IsTransient)
            {
                throw new StartupFailureException(
                    StartupFailureKind.Database,
                    $"database error: PostgreSQL at {endpoint} ({ClusterSettings.ConnectionStringKey}) refused: {ex.SqlState}: {ex.MessageText}",
                    ex);
            }
            catch (Exception ex) when (IsUnreachable(ex))
            {
                var elapsed = time.GetElapsedTime(started);
                if (elapsed + RetryDelay > settings.DatabaseStartupTimeout)
                {
                    throw new StartupFailureException(
                        StartupFailureKind.Database,
                        $"database error: cannot reach PostgreSQL at {endpoint} ({ClusterSettings.ConnectionStringKey}) after {attempt} attempt(s) in {elapsed.TotalSeconds:0.#} s: {Innermost(ex).Message}",
                        ex);
                }

                LogWaitingForDatabase(endpoint, attempt, Innermost(ex).Message);
                await Task.Delay(RetryDelay, time, cancellationToken);
            }
        }
    }

    private static bool IsUnreachable(Exception ex) =>
        ex is NpgsqlException { IsTransient: true } or SocketException or TimeoutException
        || (ex is NpgsqlException && ex.InnerException is SocketException or TimeoutException or IOException);

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex;
    }

    private static string Describe(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database schema at version {Version} ({Applied} migration(s) applied) in {Elapsed}")]
    private partial void LogSchemaReady(int version, int applied, TimeSpan elapsed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Waiting for PostgreSQL at {Endpoint} (attempt {Attempt}): {Reason}")]
    private partial void LogWaitingForDatabase(string endpoint, int attempt, string reason);
}
