using System.Text;
using Npgsql;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Runs;

/// <summary>
/// <see cref="IRunIndex"/> on PostgreSQL (table <c>orchestrator_runs</c>, migration 0005). It exists so that run
/// listing stays an index range scan however many runs there are: each page is one keyset query on
/// (tenant[, status | workflow], created_at desc, run_id desc), never an offset.
/// </summary>
/// <remarks>Does not own the data source: whoever created it disposes it.</remarks>
public sealed class PostgresRunIndex(NpgsqlDataSource dataSource) : IRunIndex
{
    private const string Columns = "tenant, run_id, workflow, version, status, created_at, updated_at";

    // A stale update (older updated_at) changes nothing; created_at is the first one stored.
    private const string UpsertSql = """
        insert into orchestrator_runs as r (tenant, run_id, workflow, version, status, created_at, updated_at)
        values ($1, $2, $3, $4, $5, $6, $7)
        on conflict (tenant, run_id) do update
        set workflow = excluded.workflow,
            version = excluded.version,
            status = excluded.status,
            updated_at = excluded.updated_at
        where r.updated_at <= excluded.updated_at
        """;

    private const string GetSql = $"select {Columns} from orchestrator_runs where tenant = $1 and run_id = $2";

    private readonly NpgsqlDataSource _dataSource = dataSource ?? throw new ArgumentNullException(nameof(dataSource));

    /// <inheritdoc />
    public async Task UpsertAsync(RunSummary summary, CancellationToken cancellationToken = default)
    {
        summary = RunSummaryRules.Normalize(summary);
        var command = _dataSource.CreateCommand(UpsertSql);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = summary.Tenant });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = summary.RunId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = summary.Workflow });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = summary.Version });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = summary.Status });
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = summary.CreatedAt.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = summary.UpdatedAt.UtcDateTime });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<RunPage> ListAsync(string tenant, RunListQuery query, CancellationToken cancellationToken = default)
    {
        var command = CreateListCommand(tenant, query);
        await using (command.ConfigureAwait(false))
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                command.Connection = connection;
                var items = await ReadSummariesAsync(command, cancellationToken).ConfigureAwait(false);
                return RunSummaryRules.ToPage(items, query.Limit);
            }
        }
    }

    /// <inheritdoc />
    public async Task<RunSummary?> GetAsync(string tenant, string runId, CancellationToken cancellationToken = default)
    {
        RunEventRules.RequireText(tenant, nameof(tenant));
        RunEventRules.RequireText(runId, nameof(runId));
        var command = _dataSource.CreateCommand(GetSql);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenant });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runId });
            var items = await ReadSummariesAsync(command, cancellationToken).ConfigureAwait(false);
            return items.Count == 0 ? null : items[0];
        }
    }

    /// <summary>
    /// The list query, not bound to a connection (tests EXPLAIN it). Only the filters asked for appear in the
    /// SQL, so every variant gets a plan for its own index even when prepared. Fetches one row more than the
    /// page to know whether there is a next page.
    /// </summary>
    internal static NpgsqlCommand CreateListCommand(string tenant, RunListQuery query)
    {
        RunEventRules.RequireText(tenant, nameof(tenant));
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        RunCursor? cursor = query.Cursor is null ? null : RunCursor.Decode(query.Cursor);

        var command = new NpgsqlCommand();
        var sql = new StringBuilder($"select {Columns} from orchestrator_runs where tenant = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenant });
        if (query.Status is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.Status });
            sql.Append(" and status = $").Append(command.Parameters.Count);
        }

        if (query.Workflow is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.Workflow });
            sql.Append(" and workflow = $").Append(command.Parameters.Count);
        }

        if (cursor is { } after)
        {
            // A row comparison matches the index order (created_at desc, run_id desc) as one range bound.
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = after.CreatedAt.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = after.RunId });
            sql.Append(" and (created_at, run_id) < ($").Append(command.Parameters.Count - 1)
                .Append(", $").Append(command.Parameters.Count).Append(')');
        }

        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.Limit + 1 });
        sql.Append(" order by created_at desc, run_id desc limit $").Append(command.Parameters.Count);
        command.CommandText = sql.ToString();
        return command;
    }

    private static async Task<List<RunSummary>> ReadSummariesAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            var items = new List<RunSummary>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(new RunSummary(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetString(2),
                    reader.GetInt32(3),
                    reader.GetString(4),
                    reader.GetFieldValue<DateTimeOffset>(5),
                    reader.GetFieldValue<DateTimeOffset>(6)));
            }

            return items;
        }
    }
}
