// SPDX-License-Identifier: MIT
// A deterministic GPS track for the demo and the benchmarks: 260 points of a walk around a
// park, as a GeoJSON FeatureCollection laid out like an export from a GPS tool (4-space
// indent, about 120 KB). Run: plugbox run --raw examples/make_track.js > track.json
const POINTS = 260;
const START = Date.UTC(2023, 0, 22, 0, 0, 0);

// xorshift32: the same track on every run and every machine
let seed = 2463534242;
function random() {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
}

function timestamp(ms) {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '+00');
}

const features = [];
let lon = 151.22989, lat = -33.89279, heading = 0, ele = 60, t = START;
for (let i = 0; i < POINTS; i++) {
  features.push({
    type: 'Feature',
    properties: {
      track_fid: 0,
      track_seg_id: 0,
      track_seg_point_id: i,
      ele: Math.round(ele * 10) / 10,
      time: timestamp(t),
    },
    geometry: {
      type: 'Point',
      coordinates: [Math.round(lon * 1e5) / 1e5, Math.round(lat * 1e5) / 1e5],
    },
  });
  // a loop: turn steadily, wander a little, stand still now and then
  heading += (2 * Math.PI) / POINTS + (random() - 0.5) * 0.3;
  const step = random() < 0.05 ? 0 : 0.00002 + random() * 0.0001;
  lon += step * Math.cos(heading);
  lat += step * Math.sin(heading);
  ele += (random() - 0.5) * 2;
  t += 5000 + Math.floor(random() * 5000);
}

JSON.stringify({
  type: 'FeatureCollection',
  name: 'track_points',
  crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:OGC:1.3:CRS84' } },
  features,
}, null, 4);
