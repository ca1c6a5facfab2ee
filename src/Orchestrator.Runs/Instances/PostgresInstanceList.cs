using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Orchestrator.Grains.Instances;

namespace Orchestrator.Runs.Instances;

/// <summary>
/// <see cref="IInstanceList"/> on PostgreSQL (table <c>orchestrator_instances</c>, migration 0007): a page is one
/// keyset query on (tenant, instance_id) with the filters in SQL, so it is full whenever more rows match.
/// Does not own the data source.
/// </summary>
public sealed class PostgresInstanceList(NpgsqlDataSource dataSource) : IInstanceList
{
    private const string UpsertSql = """
        insert into orchestrator_instances as i (tenant, instance_id, region, desired_state, observed_state, revision, updated_at, snapshot)
        values ($1, $2, $3, $4, $5, $6, $7, $8)
        on conflict (tenant, instance_id) do update
        set region = excluded.region,
            desired_state = excluded.desired_state,
            observed_state = excluded.observed_state,
            revision = excluded.revision,
            updated_at = excluded.updated_at,
            snapshot = excluded.snapshot
        where i.revision < excluded.revision
        """;

    private const string ListSql = """
        select snapshot from orchestrator_instances
        where tenant = $1
          and ($2::text is null or instance_id > $2::text collate "C")
          and ($3::text is null or region = $3::text)
          and ($4::text is null or observed_state = $4::text or ($4::text = 'destroyed' and desired_state = 'destroyed'))
        order by instance_id
        limit $5
        """;

    private const string PruneSql = """
        delete from orchestrator_instances
        where tenant = $1 and (observed_state = 'destroyed' or desired_state = 'destroyed') and updated_at < $2
        """;

    // The snapshot is stored as the record's own JSON: the API view is made from the record, not from this text.
    private static readonly JsonSerializerOptions SnapshotJson = new(JsonSerializerDefaults.General);

    private readonly NpgsqlDataSource _dataSource = dataSource ?? throw new ArgumentNullException(nameof(dataSource));

    /// <inheritdoc />
    public async Task UpsertAsync(string tenant, InstanceSnapshot snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentNullException.ThrowIfNull(snapshot);
        await using var command = _dataSource.CreateCommand(UpsertSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenant });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = snapshot.Id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = snapshot.Region });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = snapshot.DesiredState });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = snapshot.ObservedState });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = snapshot.Revision });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = snapshot.UpdatedAt.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = JsonSerializer.Serialize(snapshot, SnapshotJson), NpgsqlDbType = NpgsqlDbType.Json });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task RemoveAsync(string tenant, string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await using var command = _dataSource.CreateCommand("delete from orchestrator_instances where tenant = $1 and instance_id = $2");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenant });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instanceId });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<InstancePage> ListAsync(string tenant, InstanceListQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, InstanceListRules.MaxLimit);
        await using var command = _dataSource.CreateCommand(ListSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)query.Cursor ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)query.Region ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)query.State ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit + 1 });
        var items = new List<InstanceSnapshot>(limit + 1);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(JsonSerializer.Deserialize<InstanceSnapshot>(reader.GetString(0), SnapshotJson)
                    ?? throw new InvalidDataException("orchestrator_instances holds a null snapshot."));
            }
        }

        var more = items.Count > limit;
        var page = more ? items.GetRange(0, limit) : items;
        return new InstancePage(page, more ? page[^1].Id : null);
    }

    /// <inheritdoc />
    public async Task<int> PruneDestroyedAsync(string tenant, DateTimeOffset changedBefore, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        await using var command = _dataSource.CreateCommand(PruneSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenant });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = changedBefore.ToUniversalTime() });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
