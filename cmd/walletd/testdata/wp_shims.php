<?php
// Small WordPress shims for running the WeFund integration guide's PHP
// functions (http/plugin/assets/seed-functions.php) outside WordPress:
// options in an array, wp_remote_post over HTTP, WP_Error, and fake
// WooCommerce and Easy Digital Downloads orders. plugin_test.go drives
// them through plugin_driver.php.

$GLOBALS['wp_options'] = array();
$GLOBALS['wp_actions'] = array();
$GLOBALS['wp_post_meta'] = array();

function get_option($name, $default = false) {
    return array_key_exists($name, $GLOBALS['wp_options']) ? $GLOBALS['wp_options'][$name] : $default;
}
function update_option($name, $value) { $GLOBALS['wp_options'][$name] = $value; return true; }
function delete_option($name) { unset($GLOBALS['wp_options'][$name]); return true; }
function get_site_url() { return getenv('WP_SITE_URL'); }
function add_action($hook, $callback) { $GLOBALS['wp_actions'][$hook][] = $callback; }
function wp_json_encode($data) { return json_encode($data); }
function get_post_meta($id, $key, $single = false) {
    return isset($GLOBALS['wp_post_meta'][$id][$key]) ? $GLOBALS['wp_post_meta'][$id][$key] : '';
}

class WP_Error {
    private $message;
    public function __construct($code = '', $message = '') { $this->message = $message; }
    public function get_error_message() { return $this->message; }
}
function is_wp_error($thing) { return $thing instanceof WP_Error; }

// wp_remote_request: WordPress's HTTP API over curl (the binary; Debian's
// php-cli has no curl extension), answering WordPress's response array.
function wp_remote_request($url, $args = array()) {
    $method = isset($args['method']) ? $args['method'] : 'GET';
    $cmd = array('curl', '-sS', '-X', $method, '-o', '-', '-w', '\n%{http_code}', '--max-time', (string)(isset($args['timeout']) ? $args['timeout'] : 5));
    foreach (isset($args['headers']) ? $args['headers'] : array() as $k => $v) {
        $cmd[] = '-H';
        $cmd[] = "$k: $v";
    }
    if (isset($args['body'])) {
        $cmd[] = '--data-binary';
        $cmd[] = '@-';
    }
    $cmd[] = $url;
    $proc = proc_open($cmd, array(0 => array('pipe', 'r'), 1 => array('pipe', 'w'), 2 => array('pipe', 'w')), $pipes);
    if (!is_resource($proc)) {
        return new WP_Error('http_request_failed', 'curl did not start');
    }
    fwrite($pipes[0], isset($args['body']) ? $args['body'] : '');
    fclose($pipes[0]);
    $out = stream_get_contents($pipes[1]);
    $err = stream_get_contents($pipes[2]);
    fclose($pipes[1]);
    fclose($pipes[2]);
    if (proc_close($proc) !== 0) {
        return new WP_Error('http_request_failed', trim($err));
    }
    $cut = strrpos($out, "\n");
    return array(
        'response' => array('code' => (int)substr($out, $cut + 1), 'message' => ''),
        'body' => substr($out, 0, $cut),
        'headers' => array(),
    );
}
function wp_remote_post($url, $args = array()) { $args['method'] = 'POST'; return wp_remote_request($url, $args); }
function wp_remote_get($url, $args = array()) { $args['method'] = 'GET'; return wp_remote_request($url, $args); }
function wp_remote_retrieve_response_code($response) {
    if (is_wp_error($response) || !isset($response['response']['code'])) {
        return '';
    }
    return (int)$response['response']['code'];
}
function wp_remote_retrieve_body($response) {
    if (is_wp_error($response) || !isset($response['body'])) {
        return '';
    }
    return $response['body'];
}

// WooCommerce.
class Fake_WC_Product {
    private $meta;
    public function __construct($meta) { $this->meta = $meta; }
    public function get_meta($key, $single = true) { return isset($this->meta[$key]) ? $this->meta[$key] : ''; }
}
class Fake_WC_Item {
    private $d;
    public function __construct($d) { $this->d = $d; }
    public function get_product() { return new Fake_WC_Product($this->d['meta']); }
    public function get_name() { return $this->d['name']; }
    public function get_quantity() { return $this->d['quantity']; }
    public function get_total() { return $this->d['total']; }
}
class Fake_WC_Order {
    public $d;
    public $meta = array();
    public $notes = array();
    public $saved = 0;
    public function __construct($d) { $this->d = $d; }
    public function get_id() { return $this->d['id']; }
    public function get_total() { return $this->d['total']; }
    public function get_currency() { return $this->d['currency']; }
    public function get_status() { return $this->d['status']; }
    public function get_billing_email() { return $this->d['email']; }
    public function get_billing_first_name() { return $this->d['first_name']; }
    public function get_billing_last_name() { return $this->d['last_name']; }
    public function get_billing_phone() { return $this->d['phone']; }
    public function get_billing_country() { return $this->d['country']; }
    public function get_items() {
        return array_map(function ($i) { return new Fake_WC_Item($i); }, $this->d['items']);
    }
    public function update_meta_data($k, $v) { $this->meta[$k] = $v; }
    public function save() { $this->saved++; }
    public function add_order_note($note) { $this->notes[] = $note; }
}
$GLOBALS['wc_orders'] = array();
function wc_get_order($id) { return isset($GLOBALS['wc_orders'][$id]) ? $GLOBALS['wc_orders'][$id] : false; }

// Easy Digital Downloads.
$GLOBALS['edd_payments'] = array();
$GLOBALS['edd_downloads'] = array();
class EDD_Payment {
    public $ID, $total, $currency, $email, $first_name, $last_name, $downloads;
    public function __construct($id) {
        foreach ($GLOBALS['edd_payments'][$id] as $k => $v) {
            $this->$k = $v;
        }
        $this->ID = $id;
    }
    public function update_meta($k, $v) { $GLOBALS['edd_payments'][$this->ID]['_meta'][$k] = $v; }
    public function add_note($note) { $GLOBALS['edd_payments'][$this->ID]['_notes'][] = $note; }
}
class EDD_Download {
    public $post_title;
    public function __construct($id) { $this->post_title = $GLOBALS['edd_downloads'][$id]; }
}
