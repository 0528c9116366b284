// SPDX-License-Identifier: MIT
// Length of a GPS track, in units of 140 m.
// data: a GeoJSON FeatureCollection of Point features in the order they were recorded.
// Consecutive points are joined along great circles (spherical law of cosines).
// (var and function declarations only, so that the script can run again in one context.)
var RAD = Math.PI / 180;
var METRES_PER_DEGREE = 60 * 1853.159; // sixty minutes of arc per degree
var UNIT_METRES = 140;

function metresBetween(a, b) {
  var lon1 = a[0], lat1 = a[1], lon2 = b[0], lat2 = b[1];
  if (lon1 === lon2 && lat1 === lat2) return 0;
  var cosArc = Math.sin(lat1 * RAD) * Math.sin(lat2 * RAD) +
               Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.cos((lon2 - lon1) * RAD);
  // rounding can push the cosine of a tiny arc just above 1
  return Math.acos(Math.min(1, cosArc)) / RAD * METRES_PER_DEGREE;
}

function trackLength(collection) {
  var features = collection.features, metres = 0;
  for (var i = 1; i < features.length; i++)
    metres += metresBetween(features[i - 1].geometry.coordinates, features[i].geometry.coordinates);
  return metres / UNIT_METRES;
}

trackLength(data);
