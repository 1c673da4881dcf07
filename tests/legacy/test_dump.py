"""Reading legacy dumps and translating legacy values (no database)."""

import gzip
from pathlib import Path

from openwan.legacy import mapping
from openwan.legacy.dump import parse_insert, read_dump, statements

DUMP = Path(__file__).parent / "data" / "openwan_db_20100809.sql"


def test_the_real_dump_is_read_with_its_crlf_escapes_and_catalogue_json():
    assert b"\r\n" in DUMP.read_bytes()
    tables = read_dump(DUMP)
    counts = {t: len(rows) for t, rows in tables.items()}
    assert counts["ow_files"] == 58 and counts["ow_users"] == 5
    assert counts["ow_category"] == 28 and counts["ow_catalog"] == 39
    files = {r["id"]: r for r in tables["ow_files"]}
    assert files[26]["title"] == "文根英 - 夜来香"
    assert files[26]["groups"] == ",1,2,3,15,21,"
    # 'data1\\dir\\' in the SQL is data1\dir\ in the row.
    assert files[1]["path"] == "data1\\3948fa6f16db63ce69cd2114bfbd93b1\\"
    assert files[64]["catalog_info"].startswith('{"爱爱爱":{"11":"原因有隐隐约约原因有"')
    assert mapping.catalog_info(files[64]["catalog_info"])["fgfdg"] == {"ddd": "光芒"}
    assert files[3]["catalog_username"] is None
    users = {r["username"]: r for r in tables["ow_users"]}
    assert users["yc75"]["password"] == "$1$EG1.745.$z6/JA8BuucealnqG4Dmip."


def test_a_gzipped_dump_reads_the_same(tmp_path):
    packed = tmp_path / "dump.sql.gz"
    packed.write_bytes(gzip.compress(DUMP.read_bytes()))
    assert read_dump(packed) == read_dump(DUMP)


def test_statements_split_outside_strings_and_comments():
    text = ("/* a; comment */\r\n-- another; one\r\nINSERT INTO `t`(`a`,`b`) VALUES "
            "('x;y','it''s'),('a\\'b\\\\c\\n', NULL);\r\n/*!40101 SET NAMES utf8 */;\r\n"
            "# last; comment\nSELECT 1")
    found = list(statements(text))
    assert len(found) == 3
    assert found[1] == "/*!40101 SET NAMES utf8 */"
    table, columns, rows = parse_insert(found[0])
    assert (table, columns) == ("t", ["a", "b"])
    assert rows == [["x;y", "it's"], ["a'b\\c\n", None]]
    assert parse_insert("CREATE TABLE x (a int)") is None


def test_numbers_and_double_quoted_strings():
    _, _, rows = parse_insert('insert into t(a,b,c,d) values (-1, 2.5, "say \\"hi\\"", 0)')
    assert rows == [[-1, 2.5, 'say "hi"', 0]]


def test_legacy_values():
    assert mapping.id_list("all") is None and mapping.id_list("") is None
    assert mapping.id_list(",1,5,") == [1, 5]
    assert mapping.file_relpath("DATA1\\AbC\\", "0ABC", "MP3") == "data1/abc/0abc.mp3"
    assert mapping.display_filename("刘若英 - 光", "FLV") == "刘若英 - 光.flv"
    assert mapping.display_filename("哈哈.GIF", "GIF") == "哈哈.GIF"
    assert mapping.permissions_for("FilePutOut", "Index") == ("asset.review", "asset.delete")
    assert mapping.permissions_for("AclManager", "MakeAclFile") == ()
    assert mapping.permissions_for("UserCenter", "ChangePassword") == ()
    # JSON stored as a JSON string (escaped once more) is still read.
    assert mapping.catalog_info('"{\\"题名\\":{\\"正题名\\":\\"三国\\"}}"') == {
        "题名": {"正题名": "三国"}}
    assert mapping.catalog_info("not json") == {}
    assert mapping.timestamp(0) is None
    assert mapping.timestamp(1281084393).year == 2010
    assert mapping.unique_name("dfg", {"dfg"}, 18) == "dfg (18)"


def test_doubled_quotes_only_of_the_string_own_kind():
    _, _, rows = parse_insert("insert into t(a,b) values ('say \"\"hi\"\" it''s', \"a''b\"\"c\")")
    assert rows == [['say ""hi"" it\'s', "a''b\"c"]]
