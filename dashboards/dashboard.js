/* acadp sweep dashboard: sortable tables, an error box, and a self-test (open the page with #selftest). */
(function () {
  "use strict";

  function reportError(message) {
    var box = document.getElementById("js-errors");
    if (!box) {
      return;
    }
    box.hidden = false;
    box.textContent += (box.textContent ? "\n" : "") + "JavaScript error: " + message;
  }

  window.addEventListener("error", function (event) {
    reportError(event.message || String(event.error));
  });
  window.addEventListener("unhandledrejection", function (event) {
    reportError("unhandled rejection: " + String(event.reason));
  });

  /* The sort key of a cell: a number for numeric columns (NaN = missing, always last), else the text. */
  function sortKey(cell, numeric) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) {
      raw = cell.textContent;
    }
    if (!numeric) {
      return raw;
    }
    return raw === "" ? NaN : Number(raw);
  }

  function compareKeys(a, b, numeric) {
    if (!numeric) {
      return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
    }
    if (a === b) {
      return 0;
    }
    return a < b ? -1 : 1;
  }

  function isNumericColumn(table, index) {
    var header = table.tHead.rows[0].cells[index];
    return header.classList.contains("num");
  }

  /* Sort the body of `table` by column `index`; direction is "ascending" or "descending". Missing values go last. */
  function sortTable(table, index, direction) {
    var numeric = isNumericColumn(table, index);
    var body = table.tBodies[0];
    var sign = direction === "descending" ? -1 : 1;
    var rows = Array.prototype.slice.call(body.rows).map(function (row, position) {
      return { row: row, key: sortKey(row.cells[index], numeric), position: position };
    });
    rows.sort(function (a, b) {
      var aMissing = numeric && Number.isNaN(a.key);
      var bMissing = numeric && Number.isNaN(b.key);
      if (aMissing || bMissing) {
        return aMissing === bMissing ? a.position - b.position : (aMissing ? 1 : -1);
      }
      return sign * compareKeys(a.key, b.key, numeric) || a.position - b.position;
    });
    rows.forEach(function (item) {
      body.appendChild(item.row);
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      header.setAttribute("aria-sort", column === index ? direction : "none");
    });
  }

  function onHeaderClick(table, index) {
    var header = table.tHead.rows[0].cells[index];
    var next = header.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    sortTable(table, index, next);
  }

  function makeSortable(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      var button = header.querySelector("button");
      if (button) {
        button.addEventListener("click", function () {
          onHeaderClick(table, index);
        });
      }
    });
  }

  function columnKeys(table, index) {
    var numeric = isNumericColumn(table, index);
    return Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      return sortKey(row.cells[index], numeric);
    }).filter(function (key) {
      return !(numeric && Number.isNaN(key));
    });
  }

  function isOrdered(keys, numeric, sign) {
    for (var i = 1; i < keys.length; i += 1) {
      if (sign * compareKeys(keys[i - 1], keys[i], numeric) > 0) {
        return false;
      }
    }
    return true;
  }

  /* Click the first numeric header of the first table with two or more rows, twice, and check both orders. */
  function selfTest() {
    var marker = document.getElementById("selftest");
    var tables = Array.prototype.filter.call(document.querySelectorAll("table.sortable"), function (table) {
      return table.tBodies[0].rows.length >= 2;
    });
    var result = "fail: no sortable table with two or more rows";
    tables.some(function (table) {
      var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
      var index = headers.findIndex(function (header) { return header.classList.contains("num"); });
      if (index < 0) {
        return false;
      }
      var button = headers[index].querySelector("button");
      button.click();
      var ascending = isOrdered(columnKeys(table, index), true, 1);
      button.click();
      var descending = isOrdered(columnKeys(table, index), true, -1);
      result = ascending && descending ? "pass" : "fail: column not ordered after clicking its header";
      marker.setAttribute("data-table", table.id);
      return true;
    });
    marker.setAttribute("data-status", result === "pass" ? "pass" : "fail");
    marker.textContent = result;
  }

  document.querySelectorAll("table.sortable").forEach(makeSortable);
  if (window.location.hash === "#selftest") {
    selfTest();
  }
})();
