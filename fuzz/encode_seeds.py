#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes fuzz/corpus-encode/: one input per construct of encode_diff.c's grammar, named after
# what it builds (ENCODE_DIFF_SHOW=1 build/encode_diff FILE prints the program). The helpers
# mirror the byte layout of value() and its parts; after changing the grammar, change them and
# run: python3 fuzz/encode_seeds.py fuzz/corpus-encode
import os, sys, struct

(V_NULLISH, V_INT, V_INT32, V_NUMTAB, V_BITS, V_DECIMAL, V_STRING, V_LONGSTR, V_LEAF,
 V_WRAPPER, V_ARRAY, V_ARRAY_SLOT, V_OBJECT, V_OBJECT_SLOT, V_REF, V_DEFINE, V_ASSIGN,
 V_DELETE, V_CREATE, V_CLASS, V_PROXY, V_FREEZE, V_NEST, V_GLOBAL, V_NEWARRAY, V_PRIVATE,
 V_FUNC, V_SPREAD, V_PARSE, V_SETPROTO, V_TOJSON) = range(31)

KEYS = ['a', 'b', 'toJSON', '0', '1', '2', '01', '4294967294', '4294967295', '2147483648', '-0',
        '1.5', 'length', '__proto__', '', 'e-acute', 'lone', 'astral', 'constructor', 'valueOf',
        'escapes', 'toString', '300', 'sym', 'symfor', 'symiter', 'symprim', 'toJSON2',
        'wide-index', 'kelvin', 'wide-toJSON']
NKEYS = len(KEYS)
LEAVES = 46
NUMBERS = 50
TARGETS = ['Object.prototype', 'Array.prototype', 'Object.prototype2', 'Array.prototype2',
           'Function.prototype', 'String.prototype', 'Number.prototype', 'Boolean.prototype',
           'BigInt.prototype', 'Symbol.prototype', 'Date.prototype', 'globalThis']
NEST = [1, 2, 3, 64, 254, 255, 256, 257, 258, 259, 300, 1000]

def nullish(i): return [V_NULLISH, i]
def int8(x): return [V_INT, x & 0xff]
def int32(x): return [V_INT32] + list(struct.pack('>I', x & 0xffffffff))
def num(i): return [V_NUMTAB, i]
def bits(d): return [V_BITS] + list(struct.pack('>d', d))
def decimal(first, digits, exp3, neg=False):
    return [V_DECIMAL, (0x80 if neg else 0) | len(digits), first - 1] + digits + [exp3 & 0xff]
def units(us):  # ints < 0x80: ASCII; ('t', i): table entry; ('u', x): raw unit
    out = []
    for u in us:
        if isinstance(u, int): out.append(u)
        elif u[0] == 't': out.append(0x80 + u[1])
        else: out += [0xc0, u[1] >> 8, u[1] & 0xff]
    return out
def string_body(us): assert len(us) < 12; return [len(us)] + units(us)
def string(us): return [V_STRING] + string_body(us)
def longstr(us, k): return [V_LONGSTR, k] + string_body(us)
def leaf(i): return [V_LEAF, i]
def wrapper(i, v): return [V_WRAPPER, i] + v
def array(*elems):  # None: a hole
    assert len(elems) < 6
    out = [V_ARRAY, len(elems)]
    for e in elems: out += [7] if e is None else [0] + e
    return out
def array_slot(*elems): assert len(elems) < 6; return [V_ARRAY_SLOT, len(elems)] + sum(elems, [])
def key(k):
    if isinstance(k, list): return [NKEYS] + string_body(k)
    return [KEYS.index(k)]
def e_data(k, v): return [0] + key(k) + v
def e_get(k, v): return [1] + key(k) + v
def e_set(k): return [2] + key(k)
def e_method(k): return [3] + key(k)
def e_tojson(f): return [4] + f
def e_spread(v): return [5] + v
def e_proto(v): return [6] + v
def obj(*entries): assert len(entries) < 6; return [V_OBJECT, len(entries)] + sum(entries, [])
def d_data(v, e=True, w=True, c=True): return [0, (e and 1) | (w and 2) | ((not c) and 4)] + v
def d_get(v, e=True, setter=False, c=True): return [1, (e and 1) | (setter and 2) | ((not c) and 4)] + v
def d_set(e=True, c=True): return [2, (e and 1) | ((not c) and 4)]
def op_p(k, d): return [0] + key(k) + d
def op_m(k, v): return [1] + key(k) + v
def op_x(k): return [2] + key(k)
def obj_slot(base, *ops):  # base: '{}', ('O', v), '[]'
    out = [V_OBJECT_SLOT]
    if base == '{}': out += [0]
    elif base == '[]': out += [2]
    else: out += [1] + base[1]
    assert len(ops) < 6
    return out + [len(ops)] + sum(ops, [])
def ref(j): return [V_REF, j]
def define(v, k, d): return [V_DEFINE] + v + key(k) + d
def assign(v, k, v2): return [V_ASSIGN] + v + key(k) + v2
def delete(v, k): return [V_DELETE] + v + key(k)
def create(v): return [V_CREATE] + v
def cls(kind, v): return [V_CLASS, kind] + v
def proxy(kind, v=None, f=None):
    out = [V_PROXY, kind]
    if kind in (0, 1, 2): out += v
    if kind in (2, 3): out += f
    return out
def freeze(kind, v): return [V_FREEZE, kind] + v
def nest(depth, kind, v): return [V_NEST, NEST.index(depth), kind] + v
def glob(target, op, *args):
    out = [V_GLOBAL, TARGETS.index(target), op]
    for a in args: out += a
    return out
def newarray(n, v=None): return [V_NEWARRAY, n, 1] if v is None else [V_NEWARRAY, n, 0] + v
def private(v): return [V_PRIVATE] + v
def f_ret(v): return [0] + v        # function (k) { return v; }
F_THIS = [1]                        # function () { return this; }
F_KEY = [2]                         # function (k) { return k; }
F_THROW = [3]                       # function () { throw 1; }
def f_arrow(v): return [4] + v
def func(f): return [V_FUNC] + f
def spread(kind, v): return [V_SPREAD, kind] + v
def parse(i): return [V_PARSE, i]
def setproto(v, p): return [V_SETPROTO] + v + p
def tojson(mode, v, f, enumerable=False): return [V_TOJSON, mode | (4 if enumerable else 0)] + v + f

def group(items, n=5):
    """nest many values into arrays of at most 5"""
    while len(items) > n:
        items = [array(*items[i:i + n]) for i in range(0, len(items), n)]
    return array(*items)

S = lambda s: [ord(c) for c in s]
A = lambda *xs: array(*[int8(x) for x in xs])
seeds = {
    'nullish': group([nullish(i) for i in range(4)]),
    'ints': group([int8(0), int8(-1), int8(127), int8(-128), int32(0x7fffffff), int32(0x80000000), int32(0xffffffff)]),
    'numbers-1': group([num(i) for i in range(0, 25)]),
    'numbers-2': group([num(i) for i in range(25, NUMBERS)]),
    'numbers-bits': group([bits(x) for x in (-0.0, 5e-324, 1.7976931348623157e308, 1e21, 1e-7, 0.1, 2**53 + 2, 123.456, float('nan'), float('inf'))]),
    'numbers-decimal': group([decimal(1, [2, 3], 0), decimal(9, [9] * 15, 0), decimal(1, [], -110), decimal(4, [9, 4, 0, 6, 5], 100, True), decimal(2, [2, 2, 5, 0, 7, 3, 8, 5, 8, 5, 0, 7, 2, 0, 1], -102)]),
    'strings-controls': group([string(list(range(i, min(i + 11, 0x20)))) for i in range(0, 0x20, 11)] + [string(S('"\\/') + [0x7f])]),
    'strings-units': group([string([('t', i) for i in range(j, min(j + 11, 32))]) for j in range(0, 32, 11)]),
    'strings-surrogates': group([string([('u', 0xd800)]), string([('u', 0xdfff), 0x61]), string([('u', 0xd83d), ('u', 0xde00)]), string([('u', 0xde00), ('u', 0xd83d)]), string([('u', 0xdbff), ('u', 0xdbff), ('u', 0xdc00)]), string([('u', 0x100), ('u', 0xffff), ('u', 0x7ff), ('u', 0x800)])]),
    'string-long': array(longstr(S('ab"') + [('t', 16)], 255), longstr([0x1f], 40)),
    'leaves-1': group([leaf(i) for i in range(0, 23)]),
    'leaves-2': group([leaf(i) for i in range(23, LEAVES)]),
    'leaves-in-object': obj(e_data('a', leaf(0)), e_data('b', leaf(6)), e_data('sym', int8(1)), e_data('0', leaf(9)), e_data('1', nullish(3))),
    'bigint': obj(e_data('a', leaf(9))),
    'wrappers': group([wrapper(0, num(1)), wrapper(1, string(S('s'))), wrapper(2, nullish(2)), wrapper(3, int8(0)), wrapper(4, leaf(9)), wrapper(4, string(S('x')))]),
    'array-holes': array(array(int8(1), None, int8(2)), newarray(3), newarray(40, nullish(0)), delete(A(1, 2, 3), '1'), assign(A(1), '300', int8(2))),
    'array-named-props': assign(assign(A(1, 2), 'a', int8(3)), 'length', int8(5)),
    'array-sparse': array(assign(array(), '4294967294', int8(1)), assign(A(1), '2147483648', int8(1)), define(A(1, 2), '0', d_get(int8(1)))),
    'object-entries': obj(e_data('a', int8(1)), e_get('b', int8(2)), e_set('e-acute'), e_method('constructor'), e_spread(obj(e_data('b', int8(3))))),
    'object-keys-1': obj(*[e_data(k, int8(i)) for i, k in enumerate(['a', '0', '01', '4294967295', '2147483648'])]),
    'object-keys-2': obj(*[e_data(k, int8(i)) for i, k in enumerate(['-0', '1.5', '4294967294', '', 'escapes'])]),
    'object-keys-3': obj(*[e_data(k, int8(i)) for i, k in enumerate(['lone', 'astral', 'e-acute', 'wide-index', 'kelvin'])]),
    'object-keys-4': obj(e_data('__proto__', int8(1)), e_data('symfor', int8(2)), e_data(S('x\u0001y'), int8(3)), e_data('length', int8(4)), e_data('300', int8(5))),
    'object-proto-literal': obj(e_data('a', int8(1)), e_proto(nullish(0))),
    'object-nonenumerable': obj_slot('{}', op_m('a', int8(1)), op_p('b', d_data(int8(2), e=False)), op_p('toString', d_get(int8(3), e=False)), op_p('valueOf', d_set()), op_p('e-acute', d_get(int8(4), setter=True))),
    'object-getter-enumerable': obj_slot('{}', op_m('a', int8(1)), op_p('b', d_get(int8(2)))),
    'object-delete-readd': obj_slot('{}', op_m('a', int8(1)), op_m('b', int8(2)), op_x('a'), op_m('a', int8(3))),
    'cycle-array': array_slot(int8(1), ref(0)),
    'cycle-object': obj_slot('{}', op_m('a', ref(0))),
    'shared': array(array_slot(int8(1), int8(2)), ref(0), obj(e_data('a', ref(0)))),
    'tojson-array-own': tojson(0, A(1, 2), f_ret(string(S('X')))),
    'tojson-array-nonenumerable': tojson(1, A(1), f_ret(int8(1))),
    'tojson-object-nonenumerable': tojson(1, obj(e_data('a', int8(1))), f_ret(string(S('redacted')))),
    'tojson-object-enumerable': tojson(1, obj(e_data('a', int8(1))), F_KEY, enumerable=True),
    'tojson-getter': tojson(2, obj(e_data('a', int8(1))), f_ret(int8(5))),
    'tojson-getter-enumerable': tojson(2, array(int8(1)), F_THIS, enumerable=True),
    'tojson-inherited': tojson(3, obj(e_data('a', int8(1))), f_ret(int8(2))),
    'tojson-literal': obj(e_data('a', int8(1)), e_tojson(F_THROW)),
    'tojson-nested': obj(e_data('a', array(tojson(0, obj(), f_arrow(int8(7))))), e_data('b', int8(1))),
    'tojson-object-prototype': glob('Object.prototype', 0, F_KEY, obj(e_data('a', int8(1)))),
    'tojson-object-prototype-deleted': glob('Object.prototype', 0, F_KEY, glob('Object.prototype', 1, obj(e_data('a', int8(1))))),
    'tojson-array-prototype': glob('Array.prototype', 2, d_data(func(f_ret(int8(1))), e=False), A(1, 2)),
    'tojson-array-prototype-deleted': glob('Array.prototype', 0, F_KEY, glob('Array.prototype', 1, A(1, 2))),
    'tojson-above-array-prototype': glob('Array.prototype', 5, f_ret(string(S('p'))), A(1)),
    'tojson-above-object-prototype': glob('Object.prototype', 5, f_ret(string(S('q'))), obj(e_data('a', int8(1)))),
    'tojson-proxy-above-object-prototype': glob('Object.prototype', 6, F_KEY, obj()),
    'tojson-function-prototype': glob('Function.prototype', 0, f_ret(string(S('f'))), obj(e_data('a', leaf(0)))),
    'tojson-above-function-prototype': glob('Function.prototype', 6, F_KEY, array(leaf(1))),
    'tojson-function-own': array(cls(4, int8(1)), tojson(0, leaf(0), f_ret(int8(2)))),
    'tojson-date-deleted': glob('Date.prototype', 1, array(leaf(16))),
    'tojson-bigint-prototype': glob('BigInt.prototype', 0, F_KEY, obj(e_data('a', leaf(9)))),
    'prototype-changed': glob('Array.prototype', 3, obj(), glob('Object.prototype', 4, key('a'), int8(1), array(obj()))),
    'global-object': glob('globalThis', 4, key('a'), int8(1), leaf(15)),
    'object-create': array(create(nullish(0)), create(leaf(32)), create(obj(e_data('a', int8(1)))), obj_slot(('O', leaf(32)), op_m('a', int8(1))), setproto(obj(), nullish(0))),
    'classes': group([cls(k, obj(e_data('a', int8(1)))) for k in range(5)]),
    'proxies': group([proxy(0, obj(e_data('a', int8(1)))), proxy(1, A(1)), proxy(2, obj(), f_ret(int8(1))), proxy(3, f=f_ret(int8(2))), proxy(4)]),
    'frozen': array(freeze(0, obj(e_data('a', int8(1)))), freeze(1, A(1)), freeze(2, obj_slot('[]', op_m('0', int8(1))))),
    'nest-256': nest(256, 0, int8(1)),
    'nest-257': nest(257, 1, obj()),
    'nest-258': nest(258, 2, int8(1)),
    'nest-1000': nest(1000, 0, nullish(0)),
    'private-field': private(obj(e_data('a', int8(1)))),
    'functions-in-containers': array(leaf(0), obj(e_data('a', func(F_THIS)), e_data('b', leaf(6)), e_data('constructor', nullish(3)))),
    'spread': array(spread(0, A(1, 2)), spread(1, obj(e_get('a', int8(1)))), spread(2, A(3)), spread(2, string(S('ab')))),
    'json-parse': group([parse(i) for i in range(8)]),
    'fill-shared': newarray(100, obj(e_data('a', string(S('x'))))),
}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    assert all(0 <= b < 256 for b in data), name
    with open(os.path.join(out, name), 'wb') as f:
        f.write(bytes(data))
print(len(seeds), 'seeds')
