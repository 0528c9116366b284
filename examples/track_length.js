// Length of a GPS track, in units of 140 m.
// data: a GeoJSON FeatureCollection of Point features in the order they were recorded.
// Consecutive points are joined along great circles (spherical law of cosines).
const RAD = Math.PI / 180;
const METRES_PER_DEGREE = 60 * 1853.159; // sixty minutes of arc per degree
const UNIT_METRES = 140;

function metresBetween([lon1, lat1], [lon2, lat2]) {
  if (lon1 === lon2 && lat1 === lat2) return 0;
  const cosArc = Math.sin(lat1 * RAD) * Math.sin(lat2 * RAD) +
                 Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.cos((lon2 - lon1) * RAD);
  // rounding can push the cosine of a tiny arc just above 1
  return Math.acos(Math.min(1, cosArc)) / RAD * METRES_PER_DEGREE;
}

const points = data.features.map((f) => f.geometry.coordinates);
let metres = 0;
for (let i = 1; i < points.length; i++) metres += metresBetween(points[i - 1], points[i]);
metres / UNIT_METRES;
