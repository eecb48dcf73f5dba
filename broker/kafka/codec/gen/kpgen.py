#!/usr/bin/env python3
"""kpgen.py - write libbrk_kp's message structs and schema tables from Kafka's JSON.

    broker/kafka/codec/gen/kpgen.py [--src DIR] [--out DIR] [--check] [--all-into DIR]

Kafka defines every request and response in a JSON file (clients/src/main/resources/
common/message/*.json): each field's name, type and the versions it exists in. This
script reads those files (a copy lives in ../shared/reference/kafka-messages) and writes C:

  include/kpm_<api>.h   the structs: one per message and one per nested struct type
  src/kpm_<api>.c       one static schema table per struct (what the interpreter walks)
  include/kp_msgs.h     every kpm_*.h, the API key enum, the API table's declaration
  src/kpm_api.c         the API table: key, name, schemas, versions, first flexible version

It generates only the messages in MESSAGES below, every version of each. The output is
committed, so building needs neither Python nor ../shared; `make kp-codegen` runs this
script again, and `--check` (run by the codec's tests) compares a fresh generation with
the committed files.

Naming (documented in ../README.md):
  ProduceRequest                         -> struct kp_produce_req
  ProduceResponse                        -> struct kp_produce_resp
  ProduceRequest's TopicProduceData      -> struct kp_produce_req_topic_produce_data
  MetadataResponse's MetadataResponseTopic -> struct kp_metadata_resp_topic
      (a nested type's name loses a leading repeat of its message's name or API name)
  field PartitionIndex                   -> partition_index
  field of type []X                      -> KP_ARRAY(X) x;   (.n count, -1 = null; .v items)
  each struct S                          -> const struct kp_schema S_schema (kp_<...>_schema)

Kafka's `about` texts are not copied: the generated files carry only names and numbers.
Standard library only.
"""
import argparse
import difflib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CODEC = os.path.dirname(HERE)
REPO = os.path.abspath(os.path.join(CODEC, '..', '..', '..'))
DEFAULT_SRC = os.path.join(REPO, '..', 'shared', 'reference', 'kafka-messages')

# The APIs this codec speaks: (key, Kafka's name). Request and response of each.
MESSAGES = [
    (0, 'Produce'), (1, 'Fetch'), (2, 'ListOffsets'), (3, 'Metadata'), (8, 'OffsetCommit'),
    (9, 'OffsetFetch'), (10, 'FindCoordinator'), (11, 'JoinGroup'), (12, 'Heartbeat'),
    (13, 'LeaveGroup'), (14, 'SyncGroup'), (15, 'DescribeGroups'), (16, 'ListGroups'),
    (17, 'SaslHandshake'), (18, 'ApiVersions'), (19, 'CreateTopics'), (20, 'DeleteTopics'),
    (21, 'DeleteRecords'), (22, 'InitProducerId'), (23, 'OffsetForLeaderEpoch'),
    (29, 'DescribeAcls'), (30, 'CreateAcls'), (31, 'DeleteAcls'), (32, 'DescribeConfigs'),
    (33, 'AlterConfigs'), (35, 'DescribeLogDirs'), (36, 'SaslAuthenticate'),
    (37, 'CreatePartitions'), (42, 'DeleteGroups'), (43, 'ElectLeaders'),
    (44, 'IncrementalAlterConfigs'), (45, 'AlterPartitionReassignments'),
    (46, 'ListPartitionReassignments'), (47, 'OffsetDelete'),
    (50, 'DescribeUserScramCredentials'), (51, 'AlterUserScramCredentials'),
    (60, 'DescribeCluster'), (61, 'DescribeProducers'),
]
# Structures that are no API of their own: the frame headers and the consumer's embedded
# subscription/assignment (the bytes inside JoinGroup/SyncGroup that the broker passes on).
EXTRAS = [('header', ['RequestHeader', 'ResponseHeader']),
          ('consumer_protocol', ['ConsumerProtocolSubscription', 'ConsumerProtocolAssignment'])]

VMAX = 0x7fff
PRIMS = {  # Kafka type -> (C type, KP_T_ tag)
    'bool': ('bool', 'BOOL'), 'int8': ('int8_t', 'INT8'), 'int16': ('int16_t', 'INT16'),
    'uint16': ('uint16_t', 'UINT16'), 'int32': ('int32_t', 'INT32'),
    'uint32': ('uint32_t', 'UINT32'), 'int64': ('int64_t', 'INT64'),
    'float64': ('double', 'FLOAT64'), 'uuid': ('struct kp_uuid', 'UUID'),
    'string': ('struct kc_slice', 'STRING'), 'bytes': ('struct kc_slice', 'BYTES'),
    'records': ('struct kc_slice', 'RECORDS'),
}
C_KEYWORDS = {'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do', 'double',
              'else', 'enum', 'extern', 'float', 'for', 'goto', 'if', 'inline', 'int', 'long',
              'register', 'restrict', 'return', 'short', 'signed', 'sizeof', 'static',
              'struct', 'switch', 'typedef', 'union', 'unsigned', 'void', 'volatile', 'while',
              'bool', 'true', 'false'}


class GenError(Exception):
    pass


def strip_comments(text):
    """Kafka's JSON has // comments; drop them, leaving strings (which may hold //) alone."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == '\\' and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            in_str = c != '"'
            i += 1
        elif c == '"':
            in_str = True
            out.append(c)
            i += 1
        elif text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def load(src, name):
    path = os.path.join(src, name + '.json')
    with open(path, encoding='utf-8') as f:
        return json.loads(strip_comments(f.read()))


def snake(name):
    s = re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '_', name).lower()
    return s + '_' if s in C_KEYWORDS else s


def vrange(spec, what):
    """'3+' -> (3, VMAX); '0-12' -> (0, 12); '5' -> (5, 5); 'none' -> (1, 0) (empty)."""
    spec = (spec or 'none').strip()
    if spec == 'none':
        return (1, 0)
    m = re.fullmatch(r'(\d+)\+', spec)
    if m:
        return (int(m.group(1)), VMAX)
    m = re.fullmatch(r'(\d+)(?:-(\d+))?', spec)
    if not m:
        raise GenError('%s: bad version range %r' % (what, spec))
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else lo
    return (lo, hi)


def vtext(r):
    """(3, VMAX) -> '3+'; (0, 12) -> '0-12'; (5, 5) -> '5'; empty -> 'none'."""
    lo, hi = r
    if lo > hi:
        return 'none'
    return '%d+' % lo if hi == VMAX else str(lo) if lo == hi else '%d-%d' % (lo, hi)


def vstr(r):
    lo, hi = r
    if lo > hi:
        return 'KP_VNONE'
    return '{%d, %s}' % (lo, 'KP_VMAX' if hi == VMAX else str(hi))


class Struct:
    """One C struct: a message or a nested struct type, with its fields in wire order."""

    def __init__(self, cname, jname, fields):
        self.cname, self.jname, self.fields = cname, jname, fields


class Message:
    def __init__(self, j, cname, flex):
        self.j, self.cname, self.flex = j, cname, flex
        self.valid = vrange(j['validVersions'], j['name'])
        self.structs = []  # children before parents, the message itself last
        self.by_jname = {}
        self.common = {cs['name']: cs for cs in j.get('commonStructs', [])}


def nested_cname(msg, api, jname):
    """The C name of a nested struct: the message's name, then the type's, minus repeats."""
    t = jname
    for prefix in (msg.j['name'], api):
        if prefix and t.startswith(prefix) and len(t) > len(prefix) and t[len(prefix)].isupper():
            t = t[len(prefix):]
            break
    return '%s_%s' % (msg.cname, snake(t))


def parse_default(f, kind, what):
    """The field's default as a C initializer for the descriptor's .def."""
    d = f.get('default')
    if isinstance(d, bool):
        d = 'true' if d else 'false'
    elif isinstance(d, int):
        d = str(d)
    if kind in ('INT8', 'INT16', 'UINT16', 'INT32', 'UINT32', 'INT64'):
        return str(int(d, 0)) if d is not None else '0'
    if kind == 'BOOL':
        if d in (None, 'false'):
            return '0'
        if d == 'true':
            return '1'
        raise GenError('%s: bad bool default %r' % (what, d))
    if kind == 'FLOAT64':
        if d not in (None, '0', '0.0'):
            raise GenError('%s: only a zero float64 default is supported' % what)
        return '0'
    if kind in ('STRING', 'BYTES', 'RECORDS', 'ARRAY'):
        if d == 'null':
            return 'KP_DEF_NULL'
        if d not in (None, ''):
            raise GenError('%s: unsupported default %r' % (what, d))
        return '0'
    if kind == 'UUID':
        if d not in (None, '', 'AAAAAAAAAAAAAAAAAAAAAA'):
            raise GenError('%s: only the zero uuid default is supported' % what)
        return '0'
    if kind == 'STRUCT':
        if d is not None:
            raise GenError('%s: nullable struct fields are not supported' % what)
        return '0'
    raise GenError('%s: no default rule for %s' % (what, kind))


def build_struct(msg, api, jname, jfields, seen):
    """Describe one struct (recursively its children) and append it to msg.structs."""
    cname = msg.cname if jname is None else nested_cname(msg, api, jname)
    if cname in seen:
        raise GenError('%s: two structs named %s' % (msg.j['name'], cname))
    seen.add(cname)
    fields = []
    for f in jfields:
        what = '%s.%s' % (msg.j['name'], f['name'])
        t = f['type']
        is_array = t.startswith('[]')
        base = t[2:] if is_array else t
        fd = {'name': snake(f['name']), 'jname': f['name'], 'array': is_array,
              'ver': vrange(f['versions'], what),
              'null': vrange(f.get('nullableVersions'), what),
              'tagged': vrange(f.get('taggedVersions'), what), 'tag': f.get('tag'),
              'ignorable': bool(f.get('ignorable')), 'nested': None}
        if 'flexibleVersions' in f:
            if f['flexibleVersions'] != 'none':
                raise GenError('%s: only flexibleVersions "none" is supported' % what)
            fd['no_flex'] = True
        if (fd['tag'] is None) != (fd['tagged'][0] > fd['tagged'][1]):
            raise GenError('%s: tag and taggedVersions go together' % what)
        if fd['tag'] is not None and fd['tagged'] != fd['ver']:
            raise GenError('%s: a field tagged in only some of its versions' % what)
        if base in PRIMS:
            fd['ctype'], fd['kind'] = PRIMS[base]
        else:
            sub = f.get('fields')
            if sub is None:
                if base not in msg.common:
                    raise GenError('%s: unknown type %s' % (what, base))
                sub = msg.common[base]['fields']
            child = msg.by_jname.get(base)
            if child is None:
                child = build_struct(msg, api, base, sub, seen)
                msg.by_jname[base] = child
            fd['nested'] = child
            fd['ctype'], fd['kind'] = 'struct %s' % child.cname, 'STRUCT'
        fd['def'] = parse_default(f, 'ARRAY' if is_array else fd['kind'], what)
        fields.append(fd)
    names = [fd['name'] for fd in fields]
    if len(set(names)) != len(names):
        raise GenError('%s: duplicate field names in %s' % (msg.j['name'], cname))
    s = Struct(cname, jname or msg.j['name'], fields)
    msg.structs.append(s)
    return s


def message(src, jname, cname, api):
    j = load(src, jname)
    if j['name'] != jname:
        raise GenError('%s.json names itself %s' % (jname, j['name']))
    msg = Message(j, cname, vrange(j.get('flexibleVersions'), jname))
    build_struct(msg, api, None, j['fields'], set())
    return msg


# ---- C output ---------------------------------------------------------------------------

BANNER = ('/* Generated by broker/kafka/codec/gen/kpgen.py from Kafka\'s %s. Do not edit:\n'
          ' * change the generator (or its MESSAGES list) and run `make kp-codegen`. */\n')


def c_struct(s):
    out = ['struct %s {' % s.cname]
    if not s.fields:
        out.append('    char kp__empty; /* no fields in any version; C needs one member */')
    for fd in s.fields:
        if fd['array']:
            decl = 'KP_ARRAY(%s) %s;' % (fd['ctype'], fd['name'])
        else:
            decl = '%s %s;' % (fd['ctype'], fd['name'])
        notes = ['v' + vtext(fd['ver'])]
        if fd['null'][0] <= fd['null'][1]:
            notes.append('nullable ' + vtext(fd['null']))
        if fd['tag'] is not None:
            notes.append('tag %d' % fd['tag'])
        if fd['def'] not in ('0',):
            notes.append('default %s' % ('null' if fd['def'] == 'KP_DEF_NULL' else fd['def']))
        if fd['kind'] == 'RECORDS':
            notes.append('records: .p NULL + .len > 0 = a sendfile gap on encode')
        out.append('    %-52s /* %s */' % (decl, ', '.join(notes)))
    out.append('};')
    return '\n'.join(out)


def c_field(s, fd):
    kind = fd['kind']
    parts = ['"%s"' % fd['name'], 'offsetof(struct %s, %s)' % (s.cname, fd['name'])]
    if fd['array']:
        parts += ['KP_T_ARRAY', 'KP_T_' + kind, 'sizeof(%s)' % fd['ctype']]
    else:
        parts += ['KP_T_' + kind, '0', '0']
    flags = []
    if fd['ignorable']:
        flags.append('KP_F_IGNORABLE')
    if fd.get('no_flex'):
        flags.append('KP_F_NO_FLEX')
    parts.append(' | '.join(flags) if flags else '0')
    parts.append(str(fd['tag'] if fd['tag'] is not None else 0))
    parts += [vstr(fd['ver']), vstr(fd['null']), vstr(fd['tagged'])]
    parts.append('INT64_MIN' if fd['def'] == str(-2 ** 63) else fd['def'])
    parts.append('&%s_schema' % fd['nested'].cname if fd['nested'] else 'NULL')
    return '    {' + ', '.join(parts) + '},'


def wire_min(msg, s, flex, memo):
    """The fewest bytes struct s takes at any classic (flex False) or flexible version of
    msg, at least 1: the decoder's floor for array counts, so a count the bytes left
    cannot hold is refused before anything is allocated."""
    key = (s.cname, flex)
    if key in memo:
        return memo[key]
    width = {'BOOL': 1, 'INT8': 1, 'INT16': 2, 'UINT16': 2, 'INT32': 4, 'UINT32': 4,
             'INT64': 8, 'FLOAT64': 8, 'UUID': 16}
    best = None
    lo, hi = msg.valid
    for v in range(lo, hi + 1):
        if (msg.flex[0] <= v <= msg.flex[1]) != flex:
            continue
        n = 1 if flex else 0  # the tag block's count
        for fd in s.fields:
            if fd['tag'] is not None or not (fd['ver'][0] <= v <= fd['ver'][1]):
                continue
            compact = flex and not fd.get('no_flex')
            if fd['array'] or fd['kind'] in ('BYTES', 'RECORDS'):
                n += 1 if compact else 4
            elif fd['kind'] == 'STRING':
                n += 1 if compact else 2
            elif fd['kind'] == 'STRUCT':
                n += wire_min(msg, fd['nested'], flex, memo)
            else:
                n += width[fd['kind']]
        best = n if best is None else min(best, n)
    memo[key] = max(best or 0, 1)
    return memo[key]


def c_literal(fd):
    """fd's default as a C initializer, or None when it is all zero bytes."""
    d, kind = fd['def'], fd['kind']
    if fd['array']:
        return '{-1, NULL}' if d == 'KP_DEF_NULL' else None
    if kind in ('STRING', 'BYTES', 'RECORDS'):
        return '{NULL, -1}' if d == 'KP_DEF_NULL' else None
    if kind == 'STRUCT':
        return c_defaults(fd['nested'])
    if d in ('0', None):
        return None
    if kind == 'INT64' and int(d) == -2 ** 63:
        return 'INT64_MIN'
    if kind == 'INT32' and int(d) == -2 ** 31:
        return 'INT32_MIN'
    return d


def c_defaults(s):
    """The struct's defaults as a C initializer (designated), or None when all zero."""
    parts = []
    for fd in s.fields:
        lit = c_literal(fd)
        if lit is not None:
            parts.append('.%s = %s' % (fd['name'], lit))
    return '{' + ', '.join(parts) + '}' if parts else None


def ordered_fields(s):
    """Positional fields in wire order, then tagged fields by tag (the encoder's order)."""
    pos = [fd for fd in s.fields if fd['tag'] is None]
    tagged = sorted((fd for fd in s.fields if fd['tag'] is not None), key=lambda fd: fd['tag'])
    tags = [fd['tag'] for fd in tagged]
    if len(set(tags)) != len(tags):
        raise GenError('%s: two fields with one tag' % s.cname)
    if len(tagged) > 32:  # src/encode.c's MAX_TAGS
        raise GenError('%s: more than 32 tagged fields' % s.cname)
    return pos, tagged


def c_schema(msg, s):
    pos, tagged = ordered_fields(s)
    out = []
    if s.fields:
        out.append('static const struct kp_field %s_fields[] = {' % s.cname)
        out += [c_field(s, fd) for fd in pos + tagged]
        out.append('};')
    out.append('static const struct %s %s_defaults = %s;' % (s.cname, s.cname,
                                                           c_defaults(s) or '{0}'))
    out.append('const struct kp_schema %s_schema = {' % s.cname)
    out.append('    .name = "%s",' % s.jname)
    out.append('    .fields = %s,' % ('%s_fields' % s.cname if s.fields else 'NULL'))
    out.append('    .nfields = %d,' % len(s.fields))
    out.append('    .npositional = %d,' % len(pos))
    width = {'BOOL': 1, 'INT8': 1, 'INT16': 2, 'UINT16': 2, 'INT32': 4, 'UINT32': 4,
             'INT64': 8, 'FLOAT64': 8, 'UUID': 16}
    # the encoder's room per struct: fixed-width fields, plus a length prefix (at most a
    # 5-byte varint) for each string, bytes, records or array, plus the tag block's count
    fixed = 1 + sum(5 if fd['array'] or fd['kind'] in ('STRING', 'BYTES', 'RECORDS')
                    else width.get(fd['kind'], 0) for fd in pos)
    out.append('    .fixed_max = %d,' % fixed)
    decl_tagged = [fd for fd in s.fields if fd['tag'] is not None]  # declaration order
    if decl_tagged:
        first, last = decl_tagged[0]['name'], decl_tagged[-1]['name']
        out.append('    .tag_lo = offsetof(struct %s, %s),' % (s.cname, first))
        out.append('    .tag_hi = offsetof(struct %s, %s) + sizeof(((struct %s *)0)->%s),' % (
            s.cname, last, s.cname, last))
    out.append('    .wire_min = {%d, %d},' % (wire_min(msg, s, False, {}),
                                               wire_min(msg, s, True, {})))
    out.append('    .size = sizeof(struct %s),' % s.cname)
    out.append('    .defaults = &%s_defaults,' % s.cname)
    out.append('    .versions = %s,' % vstr(msg.valid))
    out.append('    .flex_min = %s,' % (str(msg.flex[0]) if msg.flex[0] <= msg.flex[1]
                                         else 'KP_VMAX'))
    out.append('};')
    return '\n'.join(out)


def write_unit(out_dir, base, title, msgs, srcnames):
    guard = 'KPM_%s_H' % base.upper()
    h = [BANNER % ', '.join(n + '.json' for n in srcnames),
         '#ifndef %s\n#define %s\n' % (guard, guard),
         '#include "kp_codec.h"\n',
         '/* %s */\n' % title]
    c = [BANNER % ', '.join(n + '.json' for n in srcnames),
         '#include <stddef.h>\n#include <stdint.h>\n',
         '#include "kpm_%s.h"\n' % base]
    for msg in msgs:
        h.append('/* ---- %s: versions %s, flexible %s ---- */\n' % (
            msg.j['name'], vtext(msg.valid), vtext(msg.flex)))
        for s in msg.structs:
            h.append(c_struct(s) + '\n')
        for s in msg.structs:
            h.append('extern const struct kp_schema %s_schema;' % s.cname)
        h.append('')
        for s in msg.structs:
            c.append(c_schema(msg, s) + '\n')
    h.append('#endif')
    return {os.path.join(out_dir, 'include', 'kpm_%s.h' % base): '\n'.join(h) + '\n',
            os.path.join(out_dir, 'src', 'kpm_%s.c' % base): '\n'.join(c)}


def read_versions_table(out_dir):
    """Kafka 3.9's maximum and 4.0's minimum per API, from the hand-kept kp_versions.h."""
    path = os.path.join(out_dir, 'include', 'kp_versions.h')
    table = {}
    with open(path, encoding='utf-8') as f:
        for m in re.finditer(r'^\s*X\(\s*(\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\)', f.read(),
                             re.M):
            table[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    return table


def generate(src, out_dir):
    files = {}
    apis = []
    versions = read_versions_table(out_dir)
    for key, api in MESSAGES:
        base = snake(api)
        req = message(src, api + 'Request', 'kp_%s_req' % base, api)
        resp = message(src, api + 'Response', 'kp_%s_resp' % base, api)
        for m in (req, resp):
            if m.j.get('apiKey') != key:
                raise GenError('%s: apiKey %s, expected %d' % (m.j['name'], m.j.get('apiKey'), key))
        if req.valid != resp.valid or req.flex != resp.flex:
            raise GenError('%s: request and response disagree on versions' % api)
        if key not in versions:
            raise GenError('%s (%d): missing from include/kp_versions.h' % (api, key))
        files.update(write_unit(out_dir, base, '%s (API key %d)' % (api, key), [req, resp],
                                [api + 'Request', api + 'Response']))
        apis.append((key, api, base, req, versions[key]))
    for base, names in EXTRAS:
        msgs = [message(src, n, 'kp_' + snake(n), None) for n in names]
        files.update(write_unit(out_dir, base, ' and '.join(names), msgs, names))
    files.update(write_index(out_dir, apis))
    return files


def write_index(out_dir, apis):
    units = [snake(api) for _, api, _, _, _ in apis] + [b for b, _ in EXTRAS]
    h = [BANNER % 'message definitions',
         '#ifndef KP_MSGS_H\n#define KP_MSGS_H\n',
         '#include "kp_codec.h"']
    h += ['#include "kpm_%s.h"' % u for u in units]
    h += ['', '/* The API keys this codec speaks (Kafka\'s numbers). */', 'enum kp_api_key {']
    h += ['    KP_API_%s = %d,' % (snake(api).upper(), key) for key, api, _, _, _ in apis]
    h += ['};', '', '#define KP_NAPIS %d' % len(apis), '', '#endif']
    c = [BANNER % 'message definitions', '#include <stddef.h>\n', '#include "kp_msgs.h"',
         '#include "kp_int.h"\n',
         '/* Ascending by key. kafka39_max / kafka40_min come from include/kp_versions.h. */',
         'const struct kp_api kp__apis[KP_NAPIS] = {']
    for key, api, base, req, (max39, min40) in apis:
        lo, hi = req.valid
        flex = req.flex[0] if req.flex[0] <= req.flex[1] else 'KP_VMAX'
        c.append('    {%d, "%s", &kp_%s_req_schema, &kp_%s_resp_schema, %d, %d, %s, %d, %d},' % (
            key, api, base, base, lo, hi, flex, max39, min40))
    c.append('};')
    return {os.path.join(out_dir, 'include', 'kp_msgs.h'): '\n'.join(h) + '\n',
            os.path.join(out_dir, 'src', 'kpm_api.c'): '\n'.join(c) + '\n'}


def check_all(src, out):
    """Run the generator over every JSON file (not only MESSAGES): a test of the generator."""
    ok = bad = 0
    for fn in sorted(os.listdir(src)):
        if not fn.endswith('.json'):
            continue
        name = fn[:-5]
        try:
            message(src, name, 'kp_' + snake(name), None)
            ok += 1
        except GenError as e:
            bad += 1
            print('  unsupported: %s' % e)
    print('%d of %d message definitions describable' % (ok, ok + bad))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--src', default=DEFAULT_SRC, help='directory of Kafka message JSON')
    ap.add_argument('--out', default=CODEC, help='the codec module folder')
    ap.add_argument('--check', action='store_true',
                    help='compare with the committed files instead of writing them')
    ap.add_argument('--all', action='store_true',
                    help='try every JSON file in --src and report what it cannot describe')
    args = ap.parse_args()
    if not os.path.isdir(args.src):
        print('kpgen: %s not found; nothing to generate from' % args.src)
        return 77 if args.check else 1
    try:
        if args.all:
            check_all(args.src, args.out)
            return 0
        files = generate(args.src, args.out)
    except GenError as e:
        print('kpgen: %s' % e, file=sys.stderr)
        return 1
    if args.check:
        stale = 0
        for path, text in sorted(files.items()):
            old = open(path, encoding='utf-8').read() if os.path.exists(path) else ''
            if old != text:
                stale += 1
                rel = os.path.relpath(path, args.out)
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(True), text.splitlines(True), 'committed/' + rel,
                    'generated/' + rel, n=1))
        print('kpgen --check: %d files, %d differ' % (len(files), stale))
        return 1 if stale else 0
    for path, text in sorted(files.items()):
        old = open(path, encoding='utf-8').read() if os.path.exists(path) else None
        if old != text:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(text)
    print('kpgen: %d files under %s' % (len(files), os.path.relpath(args.out, REPO)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
