/* The coordinators' map: draws the items of /coordination/carte.json with Leaflet.
 *
 * Progressive enhancement: the page's tables already list every item. Without
 * Leaflet (offline, blocked) the map container simply stays hidden; without
 * tiles the points are still drawn on a blank background. Loaded as a file,
 * never inline, so a strict Content-Security-Policy can forbid inline script.
 * Popups are built with DOM nodes and textContent: names are never parsed as HTML.
 */
(function () {
  "use strict";

  var COLOURS = { trip: "#0b5394", request: "#a14700", home: "#2d6a2d" };
  var FRANCE = [46.6, 2.5];

  function element(tag, content, className) {
    var node = document.createElement(tag);
    if (content) node.textContent = content;
    if (className) node.className = className;
    return node;
  }

  function popup(title, lines) {
    var box = element("div", "", "map-popup");
    box.appendChild(element("p", title, "map-popup-title"));
    var list = element("ul");
    lines.forEach(function (line) { list.appendChild(element("li", line)); });
    box.appendChild(list);
    return box;
  }

  /* Items sharing a point (same commune, same grid cell) become one marker. */
  function byPlace(items, where) {
    var places = {};
    items.forEach(function (item) {
      var spot = where(item);
      var key = spot.lat + "," + spot.lon;
      (places[key] = places[key] || { spot: spot, items: [] }).items.push(item);
    });
    return Object.keys(places).map(function (key) { return places[key]; });
  }

  function plural(count, one, many) { return count + " " + (count > 1 ? many : one); }

  function tripLayer(trips) {
    var layer = L.layerGroup();
    trips.forEach(function (trip) {
      L.polyline([[trip.from.lat, trip.from.lon], [trip.to.lat, trip.to.lon]], {
        color: COLOURS.trip, weight: 3, opacity: 0.8,
      }).bindPopup(popup(trip.when + " : " + trip.from.name + " → " + trip.to.name,
        [trip.passenger + " avec " + trip.driver, trip.stage_label])).addTo(layer);
    });
    byPlace(trips, function (trip) { return trip.from; }).forEach(function (place) {
      L.circleMarker([place.spot.lat, place.spot.lon], {
        radius: 7, color: COLOURS.trip, fillColor: COLOURS.trip, fillOpacity: 0.9, weight: 2,
      }).bindPopup(popup(place.spot.name + " : " + plural(place.items.length, "départ", "départs") + " aujourd'hui",
        place.items.map(function (trip) {
          return trip.when + ", " + trip.passenger + " vers " + trip.to.name + " avec " + trip.driver +
            " (" + trip.stage_label + ")";
        }))).addTo(layer);
    });
    return layer;
  }

  function requestLayer(requests) {
    var layer = L.layerGroup();
    byPlace(requests, function (request) { return request.from; }).forEach(function (place) {
      L.circleMarker([place.spot.lat, place.spot.lon], {
        radius: 9, color: COLOURS.request, fillColor: "#ffffff", fillOpacity: 0.9, weight: 4,
      }).bindPopup(popup(place.spot.name + " : " + plural(place.items.length, "demande", "demandes") + " en attente",
        place.items.map(function (request) {
          var needs = request.needs.length ? " (" + request.needs.join(", ") + ")" : "";
          return request.when + " : " + request.passenger + needs + " vers " + request.to.name;
        }))).addTo(layer);
    });
    return layer;
  }

  function homeLayer(homes) {
    var layer = L.layerGroup();
    byPlace(homes, function (home) { return home.at; }).forEach(function (place) {
      L.circleMarker([place.spot.lat, place.spot.lon], {
        radius: 5, color: COLOURS.home, fillColor: COLOURS.home, fillOpacity: 0.6, weight: 1,
      }).bindPopup(popup(plural(place.items.length, "conducteur", "conducteurs") + " vers " + place.spot.name +
          " (à 1 km près)",
        place.items.map(function (home) {
          return home.driver + ", " + plural(home.seats, "place", "places") +
            (home.wheelchair_accessible ? ", fauteuil roulant" : "");
        }))).addTo(layer);
    });
    return layer;
  }

  function bounds(data) {
    var points = [];
    data.trips.forEach(function (trip) { points.push([trip.from.lat, trip.from.lon], [trip.to.lat, trip.to.lon]); });
    data.requests.forEach(function (request) { points.push([request.from.lat, request.from.lon]); });
    data.homes.forEach(function (home) { points.push([home.at.lat, home.at.lon]); });
    return points.length ? L.latLngBounds(points) : null;
  }

  function tell(box, message) {
    var note = element("p", message, "notice");
    note.setAttribute("role", "status");
    box.insertAdjacentElement("afterend", note);
  }

  function draw(box, data) {
    box.hidden = false;
    var map = L.map(box, { zoomControl: false });
    L.control.zoom({ zoomInTitle: "Zoom avant", zoomOutTitle: "Zoom arrière" }).addTo(map);
    var tiles = L.tileLayer(data.tiles.url, { maxZoom: 18, attribution: data.tiles.attribution });
    tiles.once("tileerror", function () {
      tell(box, "Le fond de carte ne se charge pas (pas de connexion ?) : les points restent placés " +
        "et les tableaux ci-dessous sont complets.");
    });
    tiles.addTo(map);
    var overlays = {
      '<span class="map-key map-key-trip"></span> Trajets du jour': tripLayer(data.trips),
      '<span class="map-key map-key-request"></span> Demandes en attente': requestLayer(data.requests),
      '<span class="map-key map-key-home"></span> Conducteurs (à 1 km près)': homeLayer(data.homes),
    };
    // Drawn bottom-up so a trip's start stays visible inside a request ring at the same commune.
    Object.keys(overlays).reverse().forEach(function (name) { overlays[name].addTo(map); });
    var small = window.innerWidth < 600;
    L.control.layers(null, overlays, { collapsed: small, position: "bottomleft" }).addTo(map);
    var area = bounds(data);
    if (area) {
      // Room for the zoom buttons (top left) and the open legend (bottom left): no point hides under them.
      map.fitBounds(area, { paddingTopLeft: [48, 32], paddingBottomRight: [32, small ? 48 : 104], maxZoom: 12 });
    } else {
      map.setView(FRANCE, 6);
    }
  }

  function start() {
    var box = document.getElementById("carte");
    if (!box || !window.L || !window.fetch) return; // offline or blocked: the tables are the page
    fetch(box.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) { draw(box, data); })
      .catch(function () { box.hidden = true; });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
