/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* amigoctl forecast DOMAIN: the domain's reservation request
 * (GetReservationRequest), as a table, JSON, or a plot. */
#include <stdio.h>
#include <string.h>

#include "amigo-bandwidth.h"
#include "amigo-duration.h"
#include "amigo-error.h"
#include "amigo-format.h"
#include "amigo-format-forecast.h"
#include "amigo-forecast-plot.h"
#include "amigoctl.h"

/* A duration option: "0" is allowed where 0 means something (the window:
 * the overhead model's estimate), which amigo_duration_parse refuses. */
static int
parse_duration_option (const char *option, const char *text, gboolean zero_ok, gint64 max_usec,
                       const char *max_text, gint64 *ret_usec)
{
  g_autoptr (GError) error = NULL;

  if (zero_ok && g_strcmp0 (text, "0") == 0) {
    *ret_usec = 0;
    return EXIT_OK;
  }
  if (!amigo_duration_parse (text, ret_usec, &error))
    return fail (EXIT_BAD_ARGS, "%s: %s", option, error->message);
  if (*ret_usec > max_usec)
    return fail (EXIT_BAD_ARGS, "%s: '%s' is too long: expected at most %s", option, text, max_text);
  return EXIT_OK;
}

int
check_forecast (Cli *cli, int argc, char **argv)
{
  AmigoRequestOptions *o = &cli->request_options;
  g_autoptr (GError) error = NULL;
  int status;

  if ((status = check_one_domain ("forecast", argc, argv)) != EXIT_OK)
    return status;
  if (cli->window != NULL) {
    o->has_window = TRUE;
    status = parse_duration_option ("--window", cli->window, TRUE, AMIGO_REQUEST_WINDOW_MAX_USEC,
                                    "7d (or 0 for the overhead model's estimate)", &o->window_usec);
    if (status != EXIT_OK)
      return status;
  }
  if (cli->settle != NULL) {
    o->has_settle = TRUE;
    status = parse_duration_option ("--settle", cli->settle, TRUE, AMIGO_REQUEST_SETTLE_MAX_USEC, "1d",
                                    &o->settle_usec);
    if (status != EXIT_OK)
      return status;
  }
  if (cli->link != NULL) {
    o->has_link = TRUE;
    if (!amigo_bandwidth_parse (cli->link, &o->link_mbit_s, &error))
      return fail (EXIT_BAD_ARGS, "--link: %s", error->message);
    if (o->link_mbit_s < AMIGO_REQUEST_LINK_MIN_MBIT_S || o->link_mbit_s > AMIGO_REQUEST_LINK_MAX_MBIT_S)
      return fail (EXIT_BAD_ARGS, "--link: '%s' is out of range: expected 1M to 1T", cli->link);
  }
  return check_plot_option (cli->plot);
}

int
cmd_forecast (Cli *cli, int argc, char **argv)
{
  g_autoptr (GVariant) request = NULL;
  g_autoptr (GError) error = NULL;
  GVariant *options = amigo_request_options_to_variant (&cli->request_options);

  if (!amigo_daemon1_call_get_reservation_request_sync (cli->proxy, argv[0], options, &request, NULL, &error))
    return fail_call (error);

  if (cli->json) {
    g_autoptr (JsonNode) root = amigo_format_forecast_json (request);
    print_and_free (amigo_format_json (root));
  } else {
    print_and_free (amigo_format_forecast_text (request, g_get_real_time ()));
  }
  if (cli->plot != NULL) {
    if (!amigo_forecast_plot_write (cli->proxy, argv[0], request, cli->plot, &error)) {
      g_dbus_error_strip_remote_error (error);
      return fail (EXIT_FAILURE_OTHER, "--plot: %s", error->message);
    }
    if (!cli->json)
      printf ("\nPlot written to '%s'.\n", cli->plot);
  }
  return EXIT_OK;
}
