namespace Orchestrator.Database;

/// <summary>What <see cref="SchemaMigrator.MigrateAsync"/> did.</summary>
/// <param name="FromVersion">Schema version found (0 for an empty database).</param>
/// <param name="ToVersion">Schema version after the run.</param>
/// <param name="Applied">Ids (<c>NNNN_name</c>) of the migrations this run applied, in order; empty when up to date.</param>
public sealed record MigrationResult(int FromVersion, int ToVersion, IReadOnlyList<string> Applied);
