namespace Orchestrator.Database.Tests;

public sealed class MigrationCatalogTests
{
    [Fact]
    public void EmbeddedCatalogStartsWithTheOrleansMigrationsInOrder()
    {
        var catalog = MigrationCatalog.Embedded;

        Assert.Equal(
            ["0001_orleans_main", "0002_orleans_clustering", "0003_orleans_persistence", "0004_orleans_reminders"],
            catalog.Migrations.Take(4).Select(m => m.Id));
        Assert.Equal(Enumerable.Range(1, catalog.Migrations.Count), catalog.Migrations.Select(m => m.Version));
        Assert.Equal(catalog.Migrations.Count, catalog.LatestVersion);
    }

    [Fact]
    public void EmbeddedChecksumsAreSha256OfTheSql()
    {
        foreach (var migration in MigrationCatalog.Embedded.Migrations)
        {
            Assert.Matches("^[0-9a-f]{64}$", migration.Checksum);
            Assert.Equal(Migration.ComputeChecksum(migration.Sql), migration.Checksum);
            Assert.False(string.IsNullOrWhiteSpace(migration.Sql));
        }
    }

    [Fact]
    public void LineEndingsAndByteOrderMarkDoNotChangeTheChecksum()
    {
        var unix = Migration.FromSql(1, "x", "create table a (id int);\ncreate table b (id int);\n");
        var windows = Migration.FromSql(1, "x", "\uFEFFcreate table a (id int);\r\ncreate table b (id int);\r\n");
        var edited = Migration.FromSql(1, "x", "create table a (id bigint);\ncreate table b (id int);\n");

        Assert.Equal(unix.Checksum, windows.Checksum);
        Assert.NotEqual(unix.Checksum, edited.Checksum);
    }

    [Fact]
    public void CatalogWithAGapIsRejected()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new MigrationCatalog(
            [Migration.FromSql(1, "one", "select 1;"), Migration.FromSql(3, "three", "select 3;")]));

        Assert.Contains("expected version 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CatalogWithADuplicateVersionIsRejected()
    {
        Assert.Throws<InvalidOperationException>(() => new MigrationCatalog(
            [Migration.FromSql(1, "one", "select 1;"), Migration.FromSql(1, "uno", "select 1;")]));
    }

    [Fact]
    public void CatalogOrdersMigrationsByVersion()
    {
        var catalog = new MigrationCatalog([Migration.FromSql(2, "two", "select 2;"), Migration.FromSql(1, "one", "select 1;")]);

        Assert.Equal([1, 2], catalog.Migrations.Select(m => m.Version));
        Assert.Equal(2, catalog.LatestVersion);
    }
}
